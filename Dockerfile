# assay as a container image: the assay binary and the two binaries its images are made of
# (sample-webapp, assay-probe), on Debian. It builds with no registry: the base is the Debian
# image `assay images` leaves in the daemon (pulled, or its debootstrap stand-in offline), and
# the binaries are built on the host first. ci/container/build-image.sh does both steps:
#
#   ci/container/build-image.sh                 # release binaries, image `assay:local`
#
# Running it: assay drives the HOST's Docker daemon through its socket, mounted in:
#
#   docker run --rm -v /var/run/docker.sock:/var/run/docker.sock \
#     -v /tmp/assay-runs:/tmp/assay-runs -v "$PWD:/grade" -w /grade assay:local evaluate candidate.zip
#
# (/tmp/assay-runs holds the runs' lock files: shared with the host, a host `assay gc` sees this
# run alive and leaves it alone.)
#
# Trust: whoever can use that socket is root on the host. The container is given the socket so
# that assay can create the sandboxed candidate containers; treat the image like any program you
# run as root. Candidate containers never see the socket or any host path (assay copies files in
# instead of bind-mounting them), and every resource carries assay's labels, so `assay gc` (on
# the host or in another container) cleans up after a killed run.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
COPY bin/assay bin/assay-probe bin/sample-webapp /usr/local/bin/
# The CI entry scripts (GitLab's template runs assay-job.sh from here).
COPY share/assay-action.sh share/assay-job.sh /usr/local/share/assay/
# assay keeps its image cache and lock under $HOME/.cache/assay; runs' work dirs under /tmp.
ENV HOME=/var/lib/assay NO_COLOR=1
RUN mkdir -p /var/lib/assay && chmod 0777 /var/lib/assay
WORKDIR /grade
ENTRYPOINT ["assay"]
CMD ["--help"]
LABEL org.opencontainers.image.title="assay" \
      org.opencontainers.image.description="Grades DevOps take-home submissions; drives the host's Docker daemon through a mounted socket"

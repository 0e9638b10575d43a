//! Sandbox: images, plans and runs of a candidate stack through the Docker Engine API.

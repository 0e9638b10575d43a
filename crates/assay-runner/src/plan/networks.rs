//! The run's networks: one `internal` bridge without an IPv4 address per compose network a
//! service uses, and each service's attachments with its aliases.

use super::*;

/// The networks some service uses, as compose name → Docker name, and their specs.
pub(super) fn networks(
    ctx: &Ctx,
    diags: &mut Vec<Diagnostic>,
) -> (BTreeMap<String, String>, Vec<NetworkSpec>) {
    let project = ctx.project;
    let mut used_networks: BTreeSet<String> = BTreeSet::new();
    for s in project.services.values() {
        if s.network_mode.is_none() {
            used_networks.extend(s.networks.keys().cloned());
        }
    }
    for n in &used_networks {
        match project.networks.get(n) {
            Some(def) if def.is_external() => diags.push(
                Diagnostic::error(format!(
                    "network `{n}` is external; assay only runs networks it creates"
                ))
                .at(def.location.clone()),
            ),
            Some(_) => {}
            None if n == "default" => {}
            None => diags.push(Diagnostic::error(format!("network `{n}` is not declared"))),
        }
    }
    let net_names = unique_names(&ctx.prefix, used_networks.iter());
    let networks: Vec<NetworkSpec> = net_names
        .iter()
        .map(|(compose, name)| NetworkSpec {
            compose_name: compose.clone(),
            name: name.clone(),
            labels: ctx.base_labels.clone(),
        })
        .collect();
    (net_names, networks)
}

/// The service's attachments: one per network it joins, its name first among the aliases.
pub(super) fn attachments(
    ctx: &Ctx,
    name: &str,
    s: &Service,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Attachment> {
    let mut attachments = Vec::new();
    match &s.network_mode {
        Some(m) if m.value == "none" => {}
        Some(m) => diags.push(
            Diagnostic::error(format!("network_mode `{}` is not run by assay", m.value))
                .at(m.location.clone()),
        ),
        None => {
            for (net, sn) in &s.networks {
                let Some(docker_net) = ctx.net_names.get(net) else {
                    continue;
                };
                let mut aliases = vec![name.to_string()];
                for a in &sn.aliases {
                    if !aliases.contains(&a.value) {
                        aliases.push(a.value.clone());
                    }
                }
                attachments.push(Attachment {
                    network: docker_net.clone(),
                    aliases,
                });
            }
        }
    }
    attachments
}

/// Bridge option that gives the bridge no IPv4 address: containers still reach each other,
/// but nothing the host binds (on 0.0.0.0) is reachable through the gateway address, which
/// `internal: true` alone allows (measured on Docker 20.10). The host cannot reach the
/// containers either, which is why probes run from a container inside the networks.
pub const INHIBIT_IPV4: &str = "com.docker.network.bridge.inhibit_ipv4";

impl NetworkSpec {
    /// The create request: bridge, `internal` (no egress), no bridge IPv4 (no host access).
    pub fn create_request(&self) -> bollard::models::NetworkCreateRequest {
        bollard::models::NetworkCreateRequest {
            name: self.name.clone(),
            driver: Some("bridge".into()),
            internal: Some(true),
            attachable: Some(false),
            enable_ipv6: Some(false),
            options: Some(HashMap::from([(
                INHIBIT_IPV4.to_string(),
                "true".to_string(),
            )])),
            labels: Some(self.labels.clone()),
            ..Default::default()
        }
    }
}

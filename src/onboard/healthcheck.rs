//! `healthcheck`: asks the running gateway's `/readyz` on the configured listen address, for a
//! container's HEALTHCHECK (the image has no curl, and needs none).

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    #[error("not ready: {url} is unreachable ({reason})")]
    Unreachable { url: String, reason: String },
    #[error("not ready: {url} answered {status}")]
    NotReady { url: String, status: u16 },
}

/// The URL to ask: a gateway bound to every interface is asked on loopback.
pub fn readyz_url(listen_addr: SocketAddr) -> String {
    let ip = match listen_addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/readyz", SocketAddr::new(ip, listen_addr.port()))
}

/// Ok with the status when `/readyz` answers 2xx within `timeout`.
pub async fn check(listen_addr: SocketAddr, timeout: Duration) -> Result<u16, HealthcheckError> {
    let url = readyz_url(listen_addr);
    let unreachable = |e: &dyn std::fmt::Display| HealthcheckError::Unreachable {
        url: url.clone(),
        reason: e.to_string(),
    };
    let client = reqwest::Client::builder()
        .timeout(timeout)
        // Only the gateway itself is asked: never through a proxy from the environment.
        .no_proxy()
        .build()
        .map_err(|e| unreachable(&e))?;
    let response = client.get(&url).send().await.map_err(|e| {
        // reqwest's chain ("error sending request for url (...)") repeats the URL: its cause
        // alone is the short reason.
        let cause = std::error::Error::source(&e)
            .and_then(|s| std::error::Error::source(s).or(Some(s)))
            .map(ToString::to_string)
            .unwrap_or_else(|| e.to_string());
        unreachable(&cause)
    })?;
    let status = response.status().as_u16();
    match response.status().is_success() {
        true => Ok(status),
        false => Err(HealthcheckError::NotReady { url, status }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_interface_is_asked_on_loopback() {
        assert_eq!(
            readyz_url("0.0.0.0:8080".parse().unwrap()),
            "http://127.0.0.1:8080/readyz"
        );
        assert_eq!(
            readyz_url("[::]:9000".parse().unwrap()),
            "http://[::1]:9000/readyz"
        );
        assert_eq!(
            readyz_url("10.0.0.5:80".parse().unwrap()),
            "http://10.0.0.5:80/readyz"
        );
    }
}

//! A test host: a network namespace this test process makes itself, joined to the host by a veth pair with
//! addresses of the test's choosing. What the API server's service proxy reaches runs there (the proxy refuses
//! loopback endpoints), so no test sends traffic to the machine's external address.
//!
//! The process in the namespace reaches the API server through a relay on the host side of the pair (the API
//! server listens on loopback only); the API server's certificate names that address too.

use std::io::Write as _;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::OnceLock;

/// The test host of this process.
pub struct TestHost {
    /// The network namespace's name (`sealant-<pid>`).
    pub netns: String,
    /// The host side of the veth pair.
    pub host_ip: Ipv4Addr,
    /// The test host's address, inside the namespace.
    pub ip: Ipv4Addr,
    /// `https://<host_ip>:<port>`: the API server, as the test host reaches it.
    pub api_url: String,
}

/// The /30 of this process: host side and test host addresses, derived from the process id so that two test
/// processes at once do not share one. Known before the control plane starts (its certificate names the host side).
pub fn addresses() -> (Ipv4Addr, Ipv4Addr) {
    let pid = std::process::id();
    let (b, c, d) = (
        200 + ((pid >> 14) % 50) as u8,
        ((pid >> 6) & 0xff) as u8,
        ((pid & 0x3f) << 2) as u8,
    );
    (Ipv4Addr::new(10, b, c, d + 1), Ipv4Addr::new(10, b, c, d + 2))
}

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("the `ip` command (iproute2)");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The test host, made on first use: the namespace, the veth pair, and the relay to the API server.
pub fn test_host() -> &'static TestHost {
    static HOST: OnceLock<TestHost> = OnceLock::new();
    HOST.get_or_init(|| {
        let plane = crate::cluster::plane();
        let pid = std::process::id();
        let netns = format!("sealant-{pid}");
        sweep_stale();
        let (host_ip, peer_ip) = addresses();
        let (host_if, peer_if) = (format!("sth{pid}"), format!("stp{pid}"));
        ip(&["netns", "add", &netns]);
        ip(&["link", "add", &host_if, "type", "veth", "peer", "name", &peer_if]);
        ip(&["link", "set", &peer_if, "netns", &netns]);
        ip(&["addr", "add", &format!("{host_ip}/30"), "dev", &host_if]);
        ip(&["link", "set", &host_if, "up"]);
        ip(&["-n", &netns, "addr", "add", &format!("{peer_ip}/30"), "dev", &peer_if]);
        ip(&["-n", &netns, "link", "set", &peer_if, "up"]);
        ip(&["-n", &netns, "link", "set", "lo", "up"]);
        // Removed when this test process is gone (with the namespace goes its end of the pair, and the other).
        let _ = Command::new("bash")
            .args([
                "-c",
                "while kill -0 \"$1\" 2>/dev/null; do sleep 1; done; ip netns del \"$2\"",
            ])
            .args(["netns-watchdog", &pid.to_string(), &netns])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let api = plane.url().trim_start_matches("https://").to_string();
        let listener = TcpListener::bind((host_ip, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || relay(listener, &api));
        TestHost {
            netns,
            host_ip,
            ip: peer_ip,
            api_url: format!("https://{host_ip}:{port}"),
        }
    })
}

/// Forwards every connection to `target`, both ways, until either side closes.
fn relay(listener: TcpListener, target: &str) {
    for inbound in listener.incoming().flatten() {
        let Ok(outbound) = TcpStream::connect(target) else {
            continue;
        };
        for (mut from, mut to) in [
            (inbound.try_clone().unwrap(), outbound.try_clone().unwrap()),
            (outbound, inbound),
        ] {
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from, &mut to);
                let _ = to.flush();
                let _ = to.shutdown(std::net::Shutdown::Write);
            });
        }
    }
}

/// Removes the namespaces (and with them their veth pairs) of test processes that are gone.
fn sweep_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        if let Some(pid) = name.strip_prefix("sealant-").and_then(|p| p.parse::<u32>().ok())
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

impl TestHost {
    /// A command that runs `program` inside the test host.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.netns]).arg(program);
        cmd
    }

    /// `kubeconfig` (as [`crate::ControlPlane::kubeconfig`] writes it) with the API server as the test host
    /// reaches it.
    pub fn kubeconfig(&self, kubeconfig: &str) -> String {
        kubeconfig.replace(crate::cluster::plane().url(), &self.api_url)
    }
}

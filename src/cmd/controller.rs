//! `sealant controller`: run the in-cluster controller (or print its CRD). Its flags are the controller
//! crate's ([`sealant_controller::flags::Flags`]), upstream's names and environment variables.

use anyhow::{Context as _, Result};
use sealant_controller::crd;
use sealant_controller::flags::Flags;
use sealant_controller::process;

/// Runs the controller until SIGTERM or Ctrl-C.
pub fn run(args: Flags) -> Result<()> {
    if args.version {
        // Upstream's format: scripts and the upstream test suite read it.
        println!("controller version: v{}", env!("CARGO_PKG_VERSION"));
        return Ok(());
    }
    if args.print_crd {
        print!("{}", crd::crd_yaml());
        return Ok(());
    }
    process::init_logging(&args.log_level, &args.log_format);
    let config = args.into_config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let client = sealant_controller::default_client()
            .await
            .context("cannot build a Kubernetes client (in-cluster config or KUBECONFIG)")?;
        sealant_controller::run(client, config, process::shutdown_signal()).await?;
        Ok(())
    })
}

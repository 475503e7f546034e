//! `reconcile import <address> <id>`: adopts an existing resource. Generic
//! over kinds: a `read_many` of that one id, recorded under the address.

use anyhow::bail;

use crate::cli::{Global, ImportArgs};
use crate::kinds::Ctx;
use crate::schema::did_you_mean;
use crate::state::{ResourceState, Status};

use super::Session;

pub async fn run(global: &Global, args: &ImportArgs) -> anyhow::Result<i32> {
    let ui = super::ui(global);
    let mut session = Session::open(global).await?;
    let Some(r) = session.config.resources.get(&args.address) else {
        bail!(
            "{} is not in the desired state: declare it first, then import it{}",
            args.address,
            did_you_mean(
                &args.address,
                session.config.resources.keys().map(String::as_str)
            )
        );
    };
    if let Some(rs) = session.state.resources.get(&args.address) {
        bail!(
            "{} is already managed (id {}); `reconcile state rm {}` first to import another resource under it",
            args.address,
            rs.id,
            args.address
        );
    }
    let kind = r.kind;
    // A resource of another region (its `region`) is read there.
    let regional = r
        .region
        .as_deref()
        .map(|region| session.clients.in_region(region));
    let cx = Ctx {
        aws: regional.as_ref().unwrap_or(&session.clients),
        stack: &session.config.stack,
    };
    let found = kind.read_many(cx, std::slice::from_ref(&args.id)).await;
    let attributes = match found.map(|mut f| f.remove(&args.id)) {
        Ok(Some(a)) => a,
        Ok(None) => bail!("no {} with id {} exists", kind.schema().kind, args.id),
        Err(e) if e.is_not_found() => {
            bail!("no {} with id {} exists ({e})", kind.schema().kind, args.id)
        }
        Err(e) => bail!("reading {} {}: {e}", kind.schema().kind, args.id),
    };
    let deps = r.deps.iter().cloned().collect();
    session.state.resources.insert(
        args.address.clone(),
        ResourceState {
            kind: kind.schema().kind.to_owned(),
            id: args.id.clone(),
            attributes,
            dependencies: deps,
            status: Status::Created,
            deletion_policy: None,
            // Unknown: write-only values are sent by the next apply.
            fingerprints: Default::default(),
            region: r.region.clone(),
        },
    );
    session.save().await?;
    ui.line(&ui.style.green(&format!(
        "Imported {} as {}. Run `reconcile plan` to see how it differs from the desired state.",
        args.id, args.address
    )));
    session.close().await?;
    Ok(0)
}

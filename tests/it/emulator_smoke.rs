use crate::support;

use support::{Emulator, ec2};

#[tokio::test]
async fn the_emulator_starts_and_answers_describe_vpcs() {
    let emu = Emulator::start();
    emu.reset();
    let client = ec2(&emu).await;
    let vpcs = client
        .describe_vpcs()
        .send()
        .await
        .expect("describe_vpcs against the emulator");
    let vpcs = vpcs.vpcs();
    assert!(
        vpcs.iter().any(|v| v.is_default() == Some(true)),
        "moto should have a default VPC, got {vpcs:?}"
    );
}

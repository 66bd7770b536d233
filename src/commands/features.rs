use super::CmdResult;

pub fn run() -> CmdResult {
    println!(
        "{}",
        serde_json::to_string_pretty(&crate::features::features())?
    );
    Ok(0)
}

//! Which stacks `watch` runs over: `--stacks DIR...` or a fleet file
//! (`stacks = ["dir", ...]`, directories relative to the file). Every
//! problem names the file:line:col or the directory at fault.

use std::path::{Path, PathBuf};

use anyhow::bail;
use toml::de::{DeTable, DeValue};

use crate::cli::WatchArgs;
use crate::schema::did_you_mean;

/// The desired-state directories to watch; empty for a single-stack watch
/// (`--desired`).
pub fn stacks(args: &WatchArgs) -> anyhow::Result<Vec<PathBuf>> {
    let dirs = match &args.fleet {
        Some(file) => read(file)?,
        None => args
            .stacks
            .iter()
            .map(|d| (d.clone(), format!("--stacks {}", d.display())))
            .collect(),
    };
    let mut seen: Vec<&PathBuf> = Vec::new();
    for (dir, at) in &dirs {
        if !dir.exists() {
            bail!("{at}: no such desired-state directory {}", dir.display());
        }
        if seen.contains(&dir) {
            bail!("{at}: {} is listed twice", dir.display());
        }
        seen.push(dir);
    }
    Ok(dirs.into_iter().map(|(d, _)| d).collect())
}

/// The directories a fleet file lists, each with where it is written.
fn read(file: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("cannot read the fleet file {}: {e}", file.display()))?;
    parse(file, &text)
}

fn parse(file: &Path, text: &str) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let at = |offset: usize| {
        let before = &text[..offset.min(text.len())];
        format!(
            "{}:{}:{}",
            file.display(),
            before.matches('\n').count() + 1,
            before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1
        )
    };
    let doc = DeTable::parse(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        anyhow::anyhow!("{}: TOML syntax error: {}", at(offset), e.message().trim())
    })?;
    let base = file.parent().unwrap_or(Path::new(""));
    let mut dirs = Vec::new();
    let mut listed = false;
    for (k, v) in doc.get_ref() {
        let key = k.get_ref().as_ref();
        if key != "stacks" {
            let hint = did_you_mean(key, ["stacks"]);
            bail!(
                "{}: unknown field `{key}` in the fleet file{hint}",
                at(k.span().start)
            );
        }
        let DeValue::Array(items) = v.get_ref() else {
            bail!(
                "{}: `stacks`: expected a list of desired-state directories, found {}",
                at(v.span().start),
                v.get_ref().type_str()
            );
        };
        listed = true;
        for item in items {
            let DeValue::String(dir) = item.get_ref() else {
                bail!(
                    "{}: `stacks`: expected a directory name, found {}",
                    at(item.span().start),
                    item.get_ref().type_str()
                );
            };
            dirs.push((base.join(dir.as_ref()), at(item.span().start)));
        }
    }
    if !listed || dirs.is_empty() {
        bail!(
            "{}: the fleet file lists no stack: write stacks = [\"network-prod\", \"web-prod\"]",
            file.display()
        );
    }
    Ok(dirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(text: &str) -> Result<Vec<(String, String)>, String> {
        parse(Path::new("fleets/prod.toml"), text)
            .map(|d| {
                d.into_iter()
                    .map(|(p, at)| (p.display().to_string(), at))
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn directories_are_relative_to_the_fleet_file_and_located() {
        let got = dirs("# prod\nstacks = [\n  \"network\",\n  \"../web\",\n]\n").unwrap();
        assert_eq!(
            got,
            [
                (
                    "fleets/network".to_owned(),
                    "fleets/prod.toml:3:3".to_owned()
                ),
                (
                    "fleets/../web".to_owned(),
                    "fleets/prod.toml:4:3".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_wrong_fleet_file_is_refused_at_the_place_at_fault() {
        assert_eq!(
            dirs("stack = [\"a\"]\n").unwrap_err(),
            "fleets/prod.toml:1:1: unknown field `stack` in the fleet file (did you mean `stacks`?)"
        );
        assert_eq!(
            dirs("stacks = [\"a\", 3]\n").unwrap_err(),
            "fleets/prod.toml:1:16: `stacks`: expected a directory name, found integer"
        );
        assert!(
            dirs("stacks = \"a\"\n")
                .unwrap_err()
                .starts_with("fleets/prod.toml:1:10: `stacks`: expected a list")
        );
        assert!(
            dirs("stacks = []\n")
                .unwrap_err()
                .contains("lists no stack")
        );
        let e = dirs("stacks = [\n").unwrap_err();
        assert!(
            e.starts_with("fleets/prod.toml:1:11: TOML syntax error: unclosed array"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_or_repeated_directory_is_refused() {
        let here = tempfile::tempdir().unwrap();
        let a = here.path().join("a");
        std::fs::create_dir(&a).unwrap();
        let args = |stacks: Vec<PathBuf>| WatchArgs {
            interval: std::time::Duration::from_mins(1),
            correct: false,
            once: true,
            summary_markdown: None,
            stacks,
            fleet: None,
            stack_parallelism: 4,
        };
        assert_eq!(
            stacks(&args(vec![a.clone()])).unwrap(),
            std::slice::from_ref(&a)
        );
        let e = stacks(&args(vec![a.clone(), a.clone()])).unwrap_err();
        assert!(e.to_string().ends_with("a is listed twice"), "{e}");
        let e = stacks(&args(vec![here.path().join("b")])).unwrap_err();
        assert!(
            e.to_string().contains("no such desired-state directory"),
            "{e}"
        );
        assert!(stacks(&args(Vec::new())).unwrap().is_empty());
    }
}

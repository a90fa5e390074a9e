//! The built-in read-only file tools (`[mcp.NAME] builtin = "files"`): `read_file {path}` and
//! `list_directory {path}` over one directory (the server's `cwd`, else the current directory),
//! answered in-process with no server to install. Paths are resolved inside that directory; one
//! that leaves it (`..`, an absolute path elsewhere, a symlink out) is an error result. Files are
//! read up to [`MAX_READ`] bytes, as UTF-8 (invalid bytes replaced).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::server::{CallOutput, ToolInfo};

/// The one built-in server kind.
pub const FILES: &str = crate::config::schema::BUILTIN_FILES;
/// The most of one file `read_file` returns.
pub const MAX_READ: u64 = 256 * 1024;

/// Read-only file tools over `root`.
#[derive(Clone, Debug)]
pub struct Files {
    root: PathBuf,
}

impl Files {
    pub fn new(root: PathBuf) -> Files {
        Files { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn tools() -> Vec<ToolInfo> {
        let path = json!({"type": "object", "properties": {"path": {"type": "string", "description": "A path relative to the working directory."}}, "required": ["path"]});
        vec![
            ToolInfo {
                name: "read_file".into(),
                description: "Read a text file of the working directory.".into(),
                schema: path.clone(),
                read_only: true,
            },
            ToolInfo {
                name: "list_directory".into(),
                description: "List a directory of the working directory (\".\" for itself).".into(),
                schema: path,
                read_only: true,
            },
        ]
    }

    /// Run `tool`; every failure is an error result the model can read.
    pub fn call(&self, tool: &str, arguments: &serde_json::Map<String, Value>) -> CallOutput {
        let answer = match arguments.get("path").and_then(Value::as_str) {
            None => Err("`path` (a string) is required".to_string()),
            Some(path) => self.inside(path).and_then(|p| match tool {
                "read_file" => read(&p),
                "list_directory" => list(&p),
                other => Err(format!("no tool named {other}")),
            }),
        };
        match answer {
            Ok(text) => CallOutput {
                text,
                is_error: false,
            },
            Err(text) => CallOutput {
                text,
                is_error: true,
            },
        }
    }

    fn inside(&self, path: &str) -> Result<PathBuf, String> {
        let root = self
            .root
            .canonicalize()
            .map_err(|e| format!("the working directory is not readable: {e}"))?;
        let full = root
            .join(path)
            .canonicalize()
            .map_err(|e| format!("{path}: {e}"))?;
        if full.starts_with(&root) {
            Ok(full)
        } else {
            Err(format!("{path} is outside the working directory"))
        }
    }
}

fn read(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_READ)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn list(path: &Path) -> Result<String, String> {
    let mut names: Vec<String> = std::fs::read_dir(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .filter_map(Result::ok)
        .map(|e| {
            let dir = e.file_type().is_ok_and(|t| t.is_dir());
            format!(
                "{}{}",
                e.file_name().to_string_lossy(),
                if dir { "/" } else { "" }
            )
        })
        .collect();
    names.sort();
    Ok(names.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(path: &str) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        m.insert("path".into(), json!(path));
        m
    }

    #[test]
    fn reads_and_lists_inside_the_root_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "hello").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let files = Files::new(dir.path().to_path_buf());
        assert_eq!(files.call("read_file", &args("a.txt")).text, "hello");
        assert_eq!(files.call("list_directory", &args(".")).text, "a.txt\nsub/");
        let out = files.call("read_file", &args("../../etc/passwd"));
        assert!(out.is_error, "{out:?}");
        let out = files.call("read_file", &args("/etc/hostname"));
        assert!(out.is_error && out.text.contains("outside"), "{out:?}");
        assert!(files.call("read_file", &serde_json::Map::new()).is_error);
        assert!(files.call("read_file", &args("missing")).is_error);
        assert!(Files::tools().iter().all(|t| t.read_only));
    }
}

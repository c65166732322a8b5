//! Handing a file to the desktop: an iCalendar file to whatever opens `.ics` files (the
//! calendar app), through `xdg-open`.

use std::path::{Path, PathBuf};

/// Saves `ics` as `<data dir>/exports/<name>.ics` and opens it with the system's handler.
/// The file stays (a calendar app may read it after `xdg-open` has returned); the next
/// export of the same name replaces it. An error says where the file is, when it was
/// saved but could not be opened.
pub fn open_ics(data_dir: &Path, name: &str, ics: &str) -> Result<PathBuf, String> {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let dir = data_dir.join("exports");
    let path = dir.join(format!("{safe}.ics"));
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&path, ics.as_bytes()))
        .map_err(|e| format!("Could not save {}: {e}", path.display()))?;
    match std::process::Command::new("xdg-open").arg(&path).spawn() {
        Ok(mut child) => {
            // Reaped when it exits, so no zombie is left behind.
            std::thread::spawn(move || child.wait());
            Ok(path)
        }
        Err(e) => Err(format!(
            "Saved {}, but could not open it ({e}): import it in your calendar app",
            path.display()
        )),
    }
}

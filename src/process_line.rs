//! The program part of the `credential_process` line setup writes: a form
//! every reader of that line takes to mean the same path.
//!
//! POSIX: botocore splits the line with `shlex` and the Rust SDK hands it to
//! `sh -c`, so the path is double-quoted with `"` and `\` escaped; `$` and
//! `` ` `` (which `sh` would expand inside double quotes, `shlex` not) and
//! control characters are refused.
//!
//! Windows: botocore splits the line with the C runtime's rules
//! (`compat_shell_split`, platform `win32`), the Rust SDK runs it through
//! `cmd.exe /C`, and .NET and Go have each had quoting bugs with spaces. The
//! one form they all agree on is the absolute `.exe` path, double-quoted only
//! when it contains a space (or `,` `;` `=`, which `cmd.exe` also splits the
//! program name on), with no character any of them treats specially.

use std::path::Path;

use crate::error::{Error, Result};

/// Characters `cmd.exe` or the C runtime's splitting treat specially, quoted
/// or not (`%` expands variables even inside quotes).
const WINDOWS_SPECIAL: &[char] = &['"', '%', '!', '^', '&', '|', '<', '>'];

/// The quoted program for this platform's `credential_process` lines, after
/// checking that every profile name in `profiles` survives the line as well.
pub fn program(exe: &Path, profiles: &[&str]) -> Result<String> {
    #[cfg(windows)]
    {
        let text = exe.to_str().ok_or_else(|| {
            Error::Other(format!(
                "crossrole's path {} is not valid Unicode, so it cannot be written to ~/.aws/config; install crossrole.exe in a folder such as C:\\Program Files\\crossrole",
                exe.display()
            ))
        })?;
        for p in profiles {
            windows_profile(p)?;
        }
        windows(text)
    }
    #[cfg(not(windows))]
    {
        let _ = profiles;
        posix(exe)
    }
}

/// POSIX form: always double-quoted, for `shlex` and `sh -c` alike.
pub fn posix(exe: &Path) -> Result<String> {
    let s = exe.to_str().ok_or_else(|| {
        refuse(
            &exe.to_string_lossy(),
            "is not valid UTF-8, which ~/.aws/config must be",
        )
    })?;
    if let Some(c) = s.chars().find(|c| matches!(c, '$' | '`') || c.is_control()) {
        return Err(refuse(
            s,
            &format!(
                "has {}, which `sh -c` (the AWS SDKs) and botocore read differently",
                describe(c)
            ),
        ));
    }
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    Ok(q)
}

/// Windows form of the path `exe` (as Windows spells it; a `\\?\` prefix from
/// canonicalising is dropped).
pub fn windows(exe: &str) -> Result<String> {
    let path = strip_verbatim(exe);
    let absolute = is_drive_absolute(&path) || is_unc(&path);
    if !absolute {
        return Err(refuse(
            &path,
            "is not an absolute path (C:\\… or \\\\server\\share\\…)",
        ));
    }
    if !path.to_ascii_lowercase().ends_with(".exe") {
        return Err(refuse(&path, "does not end in .exe"));
    }
    if let Some(c) = path
        .chars()
        .find(|c| WINDOWS_SPECIAL.contains(c) || c.is_control())
    {
        return Err(refuse(
            &path,
            &format!(
                "has {}, which cmd.exe (the Rust SDK) or botocore would not read as part of the path",
                describe(c)
            ),
        ));
    }
    if !path.is_ascii() {
        return Err(refuse(
            &path,
            "has non-ASCII characters: botocore (the AWS CLI, boto3) reads ~/.aws/config in the Windows ANSI code page, not UTF-8, and would look for another file",
        ));
    }
    if path.contains([' ', ',', ';', '=']) {
        Ok(format!("\"{path}\""))
    } else {
        Ok(path)
    }
}

/// A profile name that `cmd.exe` would rewrite (`%NAME%` expands).
pub fn windows_profile(profile: &str) -> Result<()> {
    if profile.contains('%') {
        return Err(Error::Usage(format!(
            "profile name `{profile}` has %, which cmd.exe expands in a credential_process line on Windows; choose a name without it"
        )));
    }
    Ok(())
}

fn refuse(path: &str, why: &str) -> Error {
    Error::Other(format!(
        "crossrole's path {path} {why}; install crossrole in a folder whose path has only letters, digits, spaces and .-_\\/: (for example C:\\Program Files\\crossrole\\crossrole.exe or ~/.local/bin/crossrole) and run setup from there"
    ))
}

fn describe(c: char) -> String {
    if c.is_control() {
        format!("a control character (U+{:04X})", c as u32)
    } else {
        format!("`{c}`")
    }
}

fn strip_verbatim(p: &str) -> String {
    if let Some(rest) = p.strip_prefix(r"\\?\UNC\") {
        format!(r"\\{rest}")
    } else if let Some(rest) = p.strip_prefix(r"\\?\") {
        rest.to_string()
    } else {
        p.to_string()
    }
}

fn is_drive_absolute(p: &str) -> bool {
    let b = p.as_bytes();
    b.len() > 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\'
}

fn is_unc(p: &str) -> bool {
    let Some(rest) = p.strip_prefix(r"\\") else {
        return false;
    };
    let mut parts = rest.split('\\');
    let server = parts.next().unwrap_or("");
    let share = parts.next().unwrap_or("");
    !matches!(server, "" | "?" | ".") && !share.is_empty() && parts.next().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits each `(line, platform, code page)` as botocore does for that
    /// platform (`win32` or `linux`), through the installed botocore, in one
    /// python3 run. The line's UTF-8 bytes are first re-read in the code
    /// page, as Python's configparser does on Windows.
    fn botocore_split_all(cases: &[(String, &str, &str)]) -> Vec<Vec<String>> {
        let script = "import json, sys\nfrom botocore.compat import compat_shell_split\nprint(json.dumps([compat_shell_split(l.encode('utf-8').decode(cp, 'replace'), p) for l, p, cp in json.loads(sys.argv[1])]))\n";
        let out = std::process::Command::new("python3")
            .args(["-c", script, &serde_json::to_string(cases).unwrap()])
            .output()
            .expect("python3 with botocore (./install.sh --test installs it)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn line(program: &str) -> String {
        format!("{program} credential-process blue")
    }

    #[test]
    fn windows_lines_split_by_botocore_into_the_path() {
        let cases = [
            (r"C:\Users\alice\.cargo\bin\crossrole.exe", false),
            (r"C:\Program Files\crossrole\crossrole.exe", true),
            (r"C:\Program Files (x86)\crossrole\crossrole.exe", true),
            (r"C:\Users\Alice Smith\bin\crossrole.exe", true),
            (r"\\fileserver\tools\crossrole\crossrole.exe", false),
            (r"\\files.corp.example\tools\crossrole.exe", false),
            (r"\\fileserver\team tools\crossrole.exe", true),
            (r"D:\a,b\crossrole.EXE", true),
            (r"C:\it's\crossrole.exe", false),
        ];
        let mut split = Vec::new();
        for (path, quoted) in cases {
            let program = windows(path).unwrap();
            if quoted {
                assert_eq!(program, format!("\"{path}\""));
            } else {
                assert_eq!(program, path);
            }
            for code_page in ["utf-8", "cp1252"] {
                split.push((line(&program), "win32", code_page));
            }
        }
        let got = botocore_split_all(&split);
        for ((l, _, code_page), words) in split.iter().zip(got) {
            let path = l
                .strip_suffix(" credential-process blue")
                .unwrap()
                .trim_matches('"');
            assert_eq!(
                words,
                [path, "credential-process", "blue"],
                "{l} read in {code_page}"
            );
        }
    }

    #[test]
    fn verbatim_prefixes_are_dropped() {
        assert_eq!(
            windows(r"\\?\C:\Program Files\crossrole\crossrole.exe").unwrap(),
            r#""C:\Program Files\crossrole\crossrole.exe""#
        );
        assert_eq!(
            windows(r"\\?\UNC\server\share\crossrole.exe").unwrap(),
            r"\\server\share\crossrole.exe"
        );
    }

    #[test]
    fn windows_refuses_paths_some_reader_misreads_naming_them() {
        for (path, why) in [
            (r"crossrole.exe", "absolute"),
            (r"\Users\x\crossrole.exe", "absolute"),
            (r"C:relative\crossrole.exe", "absolute"),
            (r"\\server\crossrole.exe", "absolute"),
            (r"\\.\pipe\crossrole.exe", "absolute"),
            (r"C:\bin\crossrole", ".exe"),
            (r"C:\100% tools\crossrole.exe", "`%`"),
            (r"C:\a&b\crossrole.exe", "`&`"),
            (r"C:\say^hi\crossrole.exe", "`^`"),
            (r"C:\wow!\crossrole.exe", "`!`"),
            ("C:\\a\"b\\crossrole.exe", "`\"`"),
            ("C:\\tab\there\\crossrole.exe", "control character"),
            (
                r"C:\Users\Jürgen Müller\bin\crossrole.exe",
                "ANSI code page",
            ),
            (r"C:\Users\小明\crossrole.exe", "non-ASCII"),
        ] {
            let err = windows(path).unwrap_err().to_string();
            assert!(err.contains(path), "{path}: {err}");
            assert!(err.contains(why), "{path}: {err}");
        }
        assert!(windows_profile("a%PATH%b").is_err());
        assert!(windows_profile("team/blue-1").is_ok());
    }

    /// Why non-ASCII paths are refused: botocore on Windows reads the file's
    /// UTF-8 bytes in the ANSI code page and gets another path.
    #[test]
    fn botocore_misreads_a_non_ascii_path_in_the_ansi_code_page() {
        let path = r"C:\Users\Jürgen Müller\bin\crossrole.exe";
        let l = line(&format!("\"{path}\""));
        let got = botocore_split_all(&[(l.clone(), "win32", "utf-8"), (l, "win32", "cp1252")]);
        assert_eq!(got[0][0], path);
        assert_ne!(got[1][0], path);
    }

    #[test]
    fn posix_lines_split_by_botocore_into_the_path() {
        for path in [
            "/home/alice/.local/bin/crossrole",
            "/opt/my tools/crossrole",
            "/home/o'brien/bin/crossrole",
            "/weird/\"quoted\"/back\\slash/crossrole",
            "/home/jürgen/bin/crossrole",
        ] {
            let program = posix(Path::new(path)).unwrap();
            assert_eq!(
                botocore_split_all(&[(line(&program), "linux", "utf-8")])[0],
                [path, "credential-process", "blue"],
                "{program}"
            );
            // The Rust SDK's `sh -c` reads the same path.
            let out = std::process::Command::new("sh")
                .args(["-c", &format!("printf %s {program}")])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), path);
        }
        for path in [
            "/opt/$HOME/crossrole",
            "/opt/`id`/crossrole",
            "/a\nb/crossrole",
        ] {
            let err = posix(Path::new(path)).unwrap_err().to_string();
            assert!(err.contains("read differently"), "{err}");
        }
    }
}

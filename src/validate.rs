//! Checks on user input, each returning a message that says what a valid
//! value looks like. Limits follow the IAM and STS API references.

pub type Check = std::result::Result<(), String>;

/// One of the checks below, for tables of (setting, value, check).
pub type Validator = fn(&str) -> Check;

const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// The characters IAM allows in user, role and session names.
pub fn is_iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

pub fn account_id(s: &str) -> Check {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a 12-digit account id (an AWS account id is 12 digits, like 111111111111)",
            shorten(s)
        ))
    }
}

/// Echoes user input back in a message, cut so a 10 MB value stays readable.
pub fn shorten(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if clean.chars().count() > 80 {
        format!("{}…", clean.chars().take(80).collect::<String>())
    } else {
        clean
    }
}

/// `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`
pub fn role_arn(s: &str) -> Check {
    let hint = "expected arn:aws:iam::123456789012:role/NAME";
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return Err(format!("`{}` is not a role ARN ({hint})", shorten(s)));
    }
    if !PARTITIONS.contains(&parts[1]) {
        return Err(format!(
            "`{}` is not an AWS partition (one of {}; {hint})",
            shorten(parts[1]),
            PARTITIONS.join(", ")
        ));
    }
    if parts[2] != "iam" || !parts[3].is_empty() {
        return Err(format!("`{}` is not an IAM role ARN ({hint})", shorten(s)));
    }
    account_id(parts[4])?;
    let resource = parts[5];
    let Some(path_and_name) = resource.strip_prefix("role/") else {
        return Err(format!("`{}` is not a role ARN ({hint})", shorten(s)));
    };
    let name = path_and_name.rsplit('/').next().unwrap_or("");
    if name.is_empty() || name.len() > 64 || !name.chars().all(is_iam_name_char) {
        return Err(format!(
            "role name `{}` must be 1-64 characters of letters, digits and +=,.@_-",
            shorten(name)
        ));
    }
    if path_and_name.len() > 512 + 64
        || !path_and_name
            .chars()
            .all(|c| is_iam_name_char(c) || c == '/')
    {
        return Err(format!(
            "role path in `{}` has characters IAM does not allow",
            shorten(s)
        ));
    }
    Ok(())
}

/// A long-term IAM user key id: `AKIA` and 16 more upper-case letters or digits
/// (AWS documents up to 128 characters).
pub fn access_key_id(s: &str) -> Check {
    if s.starts_with("ASIA") {
        return Err(
            "that is a temporary key id (ASIA…), which needs a session token; crossrole stores an IAM user's long-term key (AKIA…)".into(),
        );
    }
    let ok = s.len() >= 16
        && s.len() <= 128
        && s.starts_with("AKIA")
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not an access key id (AKIA followed by 16 upper-case letters or digits)",
            shorten(s)
        ))
    }
}

pub fn secret_access_key(s: &str) -> Check {
    // Never echo the value back.
    let ok = s.len() >= 16
        && s.len() <= 256
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+' || b == b'=');
    if ok {
        Ok(())
    } else {
        Err("the secret access key is not of the expected shape (40 characters of letters, digits, / and +)".into())
    }
}

/// A virtual device ARN (`arn:aws:iam::ACCOUNT:mfa/NAME`) or a hardware serial.
///
/// STS takes 9-256 characters of letters, digits and `+=/:,.@-_` either
/// way; a device ARN's name is an IAM name (`+=,.@_-`), after an optional path.
pub fn mfa_serial(s: &str) -> Check {
    if s.starts_with("arn:") {
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        let ok = parts.len() == 6
            && s.len() <= 256
            && PARTITIONS.contains(&parts[1])
            && parts[2] == "iam"
            && parts[3].is_empty()
            && account_id(parts[4]).is_ok()
            && parts[5].strip_prefix("mfa/").is_some_and(|path_and_name| {
                let name = path_and_name.rsplit('/').next().unwrap_or("");
                !name.is_empty()
                    && name.chars().all(is_iam_name_char)
                    && path_and_name
                        .chars()
                        .all(|c| is_iam_name_char(c) || c == '/')
            });
        return if ok {
            Ok(())
        } else {
            Err(format!(
                "`{}` is not an MFA device ARN (expected arn:aws:iam::123456789012:mfa/NAME)",
                shorten(s)
            ))
        };
    }
    if (9..=256).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=/:,.@-_".contains(c))
    {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not an MFA device ARN or hardware serial number",
            shorten(s)
        ))
    }
}

pub fn mfa_code(s: &str) -> Check {
    if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("an MFA code is 6 digits".into())
    }
}

pub fn external_id(s: &str) -> Check {
    if (2..=1224).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(c))
    {
        Ok(())
    } else {
        Err("an external id is 2-1224 characters of letters, digits and +=,.@:/-_".into())
    }
}

pub fn session_name(s: &str) -> Check {
    if (2..=64).contains(&s.len()) && s.chars().all(is_iam_name_char) {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a role session name (2-64 characters of letters, digits and +=,.@_-)",
            shorten(s)
        ))
    }
}

pub fn source_identity(s: &str) -> Check {
    if (2..=64).contains(&s.len()) && s.chars().all(is_iam_name_char) {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a source identity (2-64 characters of letters, digits and +=,.@_-)",
            shorten(s)
        ))
    }
}

pub fn duration_seconds(s: &str) -> std::result::Result<i32, String> {
    match s.trim().parse::<i32>() {
        Ok(n) if (900..=43200).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{}` is not a session duration: give seconds from 900 (15 minutes) to 43200 (12 hours)",
            shorten(s)
        )),
    }
}

pub fn region(s: &str) -> Check {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a region name (like eu-west-1)",
            shorten(s)
        ))
    }
}

/// A profile name crossrole will write: the SDK identifier set, no spaces.
pub fn profile_name(s: &str) -> Check {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a usable profile name (letters, digits and _-/.%@:+ only, no spaces)",
            shorten(s)
        ))
    }
}

pub fn output_format(s: &str) -> Check {
    match s {
        "json" | "text" | "table" | "yaml" | "yaml-stream" => Ok(()),
        _ => Err(format!(
            "`{}` is not an AWS CLI output format (json, text, table, yaml, yaml-stream)",
            shorten(s)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        assert!(role_arn("arn:aws:iam::222222222222:role/CrossAccountS3Access-Role").is_ok());
        assert!(role_arn("arn:aws:iam::222222222222:role/path/to/R").is_ok());
        assert!(role_arn("arn:aws-cn:iam::222222222222:role/R").is_ok());
        for bad in [
            "",
            "arn:aws:iam::22222222222:role/R",
            "arn:aws:iam::222222222222:user/R",
            "arn:aws:s3:::bucket",
            "arn:azure:iam::222222222222:role/R",
            "arn:aws:iam::222222222222:role/",
            "arn:aws:iam::222222222222:role/a b",
        ] {
            assert!(role_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_ids() {
        assert!(access_key_id("AKIAIOSFODNN7EXAMPLE").is_ok());
        assert!(access_key_id("ASIAIOSFODNN7EXAMPLE")
            .unwrap_err()
            .contains("temporary"));
        assert!(access_key_id("akiaiosfodnn7example").is_err());
        assert!(access_key_id("AKIA1").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(duration_seconds("3600"), Ok(3600));
        assert!(duration_seconds("899").is_err());
        assert!(duration_seconds("43201").is_err());
        assert!(duration_seconds("1h").is_err());
    }

    #[test]
    fn mfa() {
        assert!(mfa_serial("arn:aws:iam::111111111111:mfa/ana").is_ok());
        assert!(mfa_serial("GAHT12345678").is_ok());
        assert!(mfa_serial("arn:aws:iam::111111111111:mfa/path/ana.b@c").is_ok());
        assert!(mfa_serial("arn:aws:iam::111111111111:user/ana").is_err());
        for bad in [
            "arn:aws:iam::111111111111:mfa/",
            "arn:aws:iam::111111111111:mfa/ana b",
            "arn:aws:iam::111111111111:mfa/ana;id",
            "arn:aws:iam::111111111111:mfa/ana\n[profile x]",
            "arn:aws:iam:eu-west-1:111111111111:mfa/ana",
            "arn:aws:iam::111111111111:mfa/path/",
        ] {
            assert!(mfa_serial(bad).is_err(), "{bad}");
        }
        let long = format!("arn:aws:iam::111111111111:mfa/{}", "a".repeat(230));
        assert!(mfa_serial(&long).is_err());
        assert!(mfa_code("123456").is_ok());
        assert!(mfa_code("12345").is_err());
        assert!(mfa_code("12345a").is_err());
    }

    #[test]
    fn shorten_cuts_and_cleans() {
        assert_eq!(shorten("a\nb"), "a?b");
        assert_eq!(shorten(&"x".repeat(1000)).chars().count(), 81);
    }
}

//! `crossrole deprovision`: removes what provision made, in both accounts
//! and on this machine, and nothing else. Users, roles and policies carry
//! the `crossrole:managed` tag; one of those names without the tag is
//! refused before anything is deleted. Groups cannot be tagged: a group
//! goes only when its inline policy is crossrole's and nothing else is in
//! it. The bucket goes only when provision created it (its tag) and it is
//! empty. Then the profiles and keyring entries go, as `remove` does.

use std::io::Write;

use super::provision::say;
use crate::admin::accounts::Accounts;
use crate::admin::call::{find, raw, refuse, run as call};
use crate::admin::names::{
    group_policy_name, has_managed_tag, is_managed, Names, OWN_KEYS_POLICY, TAG_KEY,
};
use crate::admin::steps::{owns_bucket, policy_document};
use crate::admin::Aws;
use crate::deps::Deps;
use crate::error::{Error, Result};
use crate::{commands, prompt};

pub struct DeprovisionInput {
    pub green_admin: String,
    pub blue_admin: String,
    /// `bucket` is empty when not given: then it is read from the policy.
    pub names: Names,
    pub region: Option<String>,
    pub source_profile: String,
    pub target_profile: String,
    pub yes: bool,
}

pub fn from_args(a: crate::cli::DeprovisionArgs) -> Result<DeprovisionInput> {
    let names = super::provision::names_from(&a.admin, a.bucket.as_deref().unwrap_or(""))?;
    Ok(DeprovisionInput {
        green_admin: a.admin.green_admin_profile,
        blue_admin: a.admin.blue_admin_profile,
        names,
        region: a.admin.region,
        source_profile: a.admin.source_profile,
        target_profile: a.admin.target_profile,
        yes: a.admin.yes,
    })
}

/// What is there to remove, found before anything is deleted.
struct Found {
    user: bool,
    group: bool,
    /// The group's crossrole policy (so the group is there too).
    group_policy: bool,
    role: bool,
    policy: bool,
    /// The bucket, and whether provision made it (its tag).
    bucket: Option<(String, bool)>,
}

pub fn run(deps: &Deps<'_>, input: &DeprovisionInput, out: &mut dyn Write) -> Result<()> {
    if !input.yes && !prompt::can_ask() {
        return Err(Error::Usage(
            "deprovision deletes IAM users, roles, policies and access keys in two accounts; without a terminal to ask on, pass --yes".into(),
        ));
    }
    let acc = Accounts::open(
        &deps.paths,
        &input.green_admin,
        &input.blue_admin,
        input.region.as_deref(),
    )?;
    let found = survey(&acc, &input.names)?;
    let n = &input.names;
    let mut plan = vec![
        (
            "Green",
            format!(
                "access keys, policies and groups of user {}, and the user",
                n.user
            ),
            found.user,
        ),
        (
            "Green",
            format!(
                "inline policy {} of group {}",
                group_policy_name(&n.role),
                n.group
            ),
            found.group_policy,
        ),
        (
            "Green",
            format!("group {} (if nothing else is in it)", n.group),
            found.group_policy,
        ),
        ("Blue ", format!("role {}", n.role), found.role),
        ("Blue ", format!("policy {}", n.policy), found.policy),
    ];
    if let Some((b, mine)) = &found.bucket {
        plan.push(("Blue ", format!("bucket {b} (if empty)"), *mine));
    }
    let mut text = format!(
        "Plan: Green account {} (profile {}), Blue account {} (profile {})\n",
        acc.green_id, acc.green_profile, acc.blue_id, acc.blue_profile
    );
    for (side, what, there) in &plan {
        text.push_str(&format!(
            "  {side}  {what:<70} {}\n",
            if *there { "delete" } else { "absent" }
        ));
    }
    text.push_str(&format!(
        "  local  profiles {} and {}, their keyring entries and sessions: delete",
        input.target_profile, input.source_profile
    ));
    say(out, &text)?;
    if !input.yes && !prompt::confirm("Delete these? [y/N] ")? {
        return Err(Error::Cancelled("nothing was deleted".into()));
    }

    let mut done = Vec::new();
    let stop = |e: Error, done: &[String]| {
        Error::Other(format!(
            "{e}\ndeprovision stopped; deleted so far: {}. Run it again to continue.",
            if done.is_empty() {
                "nothing".to_string()
            } else {
                done.join("; ")
            }
        ))
    };
    let g = &acc.green;
    let b = &acc.blue;
    if found.user {
        delete_user(g, &n.user, out).map_err(|e| stop(e, &done))?;
        done.push(format!("user {}", n.user));
    }
    if found.group_policy {
        call(
            g,
            "iam:DeleteGroupPolicy",
            g.iam()
                .delete_group_policy()
                .group_name(&n.group)
                .policy_name(group_policy_name(&n.role))
                .send(),
        )
        .map_err(|e| stop(e, &done))?;
        say(
            out,
            &format!(
                "  Green  inline policy {} of group {}: deleted",
                group_policy_name(&n.role),
                n.group
            ),
        )?;
        if found.group {
            delete_group_if_empty(g, &n.group, out).map_err(|e| stop(e, &done))?;
        }
    } else if found.group {
        say(
            out,
            &format!(
                "  Green  group {}: left, its policy {} is not there (not crossrole's group)",
                n.group,
                group_policy_name(&n.role)
            ),
        )?;
    }
    let policy_arn = n.policy_arn(&acc.partition, &acc.blue_id);
    if found.role {
        delete_role(b, &n.role, out).map_err(|e| stop(e, &done))?;
        done.push(format!("role {}", n.role));
    }
    if found.policy {
        delete_policy(b, &policy_arn, out).map_err(|e| stop(e, &done))?;
        done.push(format!("policy {}", n.policy));
    }
    if let Some((bucket, mine)) = &found.bucket {
        if *mine {
            delete_bucket_if_empty(b, bucket, out).map_err(|e| stop(e, &done))?;
        } else {
            say(out, &format!("  Blue   bucket {bucket}: left, provision did not create it (no {TAG_KEY} tag)"))?;
        }
    }

    // This machine: the role profile first, so no profile is left naming a
    // source whose key is gone.
    for profile in [&input.target_profile, &input.source_profile] {
        match commands::remove::run(deps, profile, true, out) {
            Ok(()) | Err(Error::NotFound(_)) => {}
            Err(e) => return Err(stop(e, &done)),
        }
    }
    say(out, "deprovision done")
}

/// Looks at everything first; a user, role or policy of that name that
/// provision did not make is refused here, before anything is deleted.
fn survey(acc: &Accounts, n: &Names) -> Result<Found> {
    let (g, b) = (&acc.green, &acc.blue);
    let (giam, biam) = (g.iam(), b.iam());
    let not_ours = |kind: &str, name: &str, account: &str| {
        refuse(format!(
            "{kind} {name} in account {account} has no {TAG_KEY} tag: provision did not make it, so deprovision deletes nothing; give the names provision used (--user, --group, --role, --policy)"
        ))
    };
    let user = find(g, "iam:GetUser", giam.get_user().user_name(&n.user).send())?;
    let user = match user.and_then(|u| u.user) {
        Some(u) if !has_managed_tag(u.tags()) => {
            return Err(not_ours("user", &n.user, &acc.green_id))
        }
        Some(_) => true,
        None => false,
    };
    let role = find(b, "iam:GetRole", biam.get_role().role_name(&n.role).send())?;
    let role = match role.and_then(|r| r.role) {
        Some(r) if !has_managed_tag(r.tags()) => {
            return Err(not_ours("role", &n.role, &acc.blue_id))
        }
        Some(_) => true,
        None => false,
    };
    let arn = n.policy_arn(&acc.partition, &acc.blue_id);
    let policy = find(
        b,
        "iam:GetPolicy",
        biam.get_policy().policy_arn(&arn).send(),
    )?;
    let (policy, bucket_from_policy) = match policy.and_then(|p| p.policy) {
        Some(p) if !has_managed_tag(p.tags()) => {
            return Err(not_ours("policy", &n.policy, &acc.blue_id))
        }
        Some(p) => (
            true,
            bucket_of_policy(b, &arn, p.default_version_id().unwrap_or("v1"))?,
        ),
        None => (false, None),
    };
    let group = find(
        g,
        "iam:GetGroup",
        giam.get_group().group_name(&n.group).send(),
    )?
    .is_some();
    let group_policy = group
        && find(
            g,
            "iam:GetGroupPolicy",
            giam.get_group_policy()
                .group_name(&n.group)
                .policy_name(group_policy_name(&n.role))
                .send(),
        )?
        .is_some();
    let bucket_name = if n.bucket.is_empty() {
        bucket_from_policy
    } else {
        Some(n.bucket.clone())
    };
    let bucket = match bucket_name {
        None => None,
        Some(name) => bucket_state(b, &name)?.map(|mine| (name, mine)),
    };
    Ok(Found {
        user,
        group,
        group_policy,
        role,
        policy,
        bucket,
    })
}

/// The bucket the permission policy names, when `--bucket` is not given.
fn bucket_of_policy(b: &Aws, arn: &str, version: &str) -> Result<Option<String>> {
    let doc = policy_document(b, arn, version)?;
    let Some(json) = crate::admin::documents::parse_returned(&doc) else {
        return Ok(None);
    };
    let text = json.to_string();
    Ok(text.split("s3:::").nth(1).map(|rest| {
        rest.chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-')
            .collect()
    }))
}

/// None: no such bucket of Blue's. Some(true): provision made it.
fn bucket_state(b: &Aws, name: &str) -> Result<Option<bool>> {
    if !owns_bucket(b, name)? {
        return Ok(None);
    }
    // No tag set at all is "not provision's", as is a set without the tag.
    let tags = find(
        b,
        "s3:GetBucketTagging",
        b.s3().get_bucket_tagging().bucket(name).send(),
    )?;
    Ok(Some(tags.is_some_and(|t| {
        is_managed(t.tag_set().iter().map(|t| (t.key(), t.value())))
    })))
}

fn delete_user(g: &Aws, user: &str, out: &mut dyn Write) -> Result<()> {
    let iam = g.iam();
    let keys = call(
        g,
        "iam:ListAccessKeys",
        iam.list_access_keys().user_name(user).send(),
    )?;
    for k in keys.access_key_metadata() {
        let id = k.access_key_id().unwrap_or_default();
        call(
            g,
            "iam:DeleteAccessKey",
            iam.delete_access_key()
                .user_name(user)
                .access_key_id(id)
                .send(),
        )?;
        say(
            out,
            &format!(
                "  Green  access key {} of user {user}: deleted",
                crate::credentials::mask_key_id(id)
            ),
        )?;
    }
    let inline = call(
        g,
        "iam:ListUserPolicies",
        iam.list_user_policies().user_name(user).send(),
    )?;
    for p in inline.policy_names() {
        call(
            g,
            "iam:DeleteUserPolicy",
            iam.delete_user_policy()
                .user_name(user)
                .policy_name(p)
                .send(),
        )?;
        let what = if p == OWN_KEYS_POLICY {
            "inline policy"
        } else {
            "inline policy (not provision's)"
        };
        say(out, &format!("  Green  {what} {p} of user {user}: deleted"))?;
    }
    let attached = call(
        g,
        "iam:ListAttachedUserPolicies",
        iam.list_attached_user_policies().user_name(user).send(),
    )?;
    for p in attached.attached_policies() {
        let arn = p.policy_arn().unwrap_or_default();
        call(
            g,
            "iam:DetachUserPolicy",
            iam.detach_user_policy()
                .user_name(user)
                .policy_arn(arn)
                .send(),
        )?;
    }
    let groups = call(
        g,
        "iam:ListGroupsForUser",
        iam.list_groups_for_user().user_name(user).send(),
    )?;
    for gr in groups.groups() {
        call(
            g,
            "iam:RemoveUserFromGroup",
            iam.remove_user_from_group()
                .group_name(gr.group_name())
                .user_name(user)
                .send(),
        )?;
        say(
            out,
            &format!("  Green  user {user} in group {}: removed", gr.group_name()),
        )?;
    }
    call(
        g,
        "iam:DeleteUser",
        iam.delete_user().user_name(user).send(),
    )?;
    say(out, &format!("  Green  user {user}: deleted"))
}

fn delete_group_if_empty(g: &Aws, group: &str, out: &mut dyn Write) -> Result<()> {
    let iam = g.iam();
    let members = call(g, "iam:GetGroup", iam.get_group().group_name(group).send())?;
    let policies = call(
        g,
        "iam:ListGroupPolicies",
        iam.list_group_policies().group_name(group).send(),
    )?;
    if !members.users().is_empty() || !policies.policy_names().is_empty() {
        return say(
            out,
            &format!("  Green  group {group}: left, it still has other users or policies"),
        );
    }
    call(
        g,
        "iam:DeleteGroup",
        iam.delete_group().group_name(group).send(),
    )?;
    say(out, &format!("  Green  group {group}: deleted"))
}

fn delete_role(b: &Aws, role: &str, out: &mut dyn Write) -> Result<()> {
    let iam = b.iam();
    let attached = call(
        b,
        "iam:ListAttachedRolePolicies",
        iam.list_attached_role_policies().role_name(role).send(),
    )?;
    for p in attached.attached_policies() {
        let arn = p.policy_arn().unwrap_or_default();
        call(
            b,
            "iam:DetachRolePolicy",
            iam.detach_role_policy()
                .role_name(role)
                .policy_arn(arn)
                .send(),
        )?;
        say(
            out,
            &format!(
                "  Blue   policy {} detached from role {role}",
                p.policy_name().unwrap_or(arn)
            ),
        )?;
    }
    let inline = call(
        b,
        "iam:ListRolePolicies",
        iam.list_role_policies().role_name(role).send(),
    )?;
    for p in inline.policy_names() {
        call(
            b,
            "iam:DeleteRolePolicy",
            iam.delete_role_policy()
                .role_name(role)
                .policy_name(p)
                .send(),
        )?;
    }
    call(
        b,
        "iam:DeleteRole",
        iam.delete_role().role_name(role).send(),
    )?;
    say(out, &format!("  Blue   role {role}: deleted"))
}

/// Its other versions first: IAM deletes a policy only with its default left.
fn delete_policy(b: &Aws, arn: &str, out: &mut dyn Write) -> Result<()> {
    let iam = b.iam();
    let versions = call(
        b,
        "iam:ListPolicyVersions",
        iam.list_policy_versions().policy_arn(arn).send(),
    )?;
    for v in versions
        .versions()
        .iter()
        .filter(|v| !v.is_default_version())
    {
        call(
            b,
            "iam:DeletePolicyVersion",
            iam.delete_policy_version()
                .policy_arn(arn)
                .version_id(v.version_id().unwrap_or_default())
                .send(),
        )?;
    }
    match raw(b, iam.delete_policy().policy_arn(arn).send()) {
        Ok(_) => say(out, &format!("  Blue   policy {arn}: deleted")),
        Err(e) if e.is("DeleteConflict") => say(
            out,
            &format!("  Blue   policy {arn}: left, it is still attached to something provision did not make"),
        ),
        Err(e) => Err(e.into_error(&crate::admin::error::Context::new(&b.who, "iam:DeletePolicy"))),
    }
}

fn delete_bucket_if_empty(b: &Aws, bucket: &str, out: &mut dyn Write) -> Result<()> {
    let s3 = b.s3();
    let list = call(
        b,
        "s3:ListBucket",
        s3.list_objects_v2().bucket(bucket).max_keys(1).send(),
    )?;
    if list.key_count().unwrap_or(0) > 0 || !list.contents().is_empty() {
        return say(
            out,
            &format!("  Blue   bucket {bucket}: left, it is not empty (empty it, e.g. aws s3 rm s3://{bucket} --recursive, and run deprovision again)"),
        );
    }
    call(
        b,
        "s3:DeleteBucket",
        s3.delete_bucket().bucket(bucket).send(),
    )?;
    say(out, &format!("  Blue   bucket {bucket}: deleted"))
}

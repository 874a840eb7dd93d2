//! Who may give a lead to whom. Keeping a lead with oneself and in one's
//! own teams needs nothing beyond the write itself; giving it to another
//! owner needs `crm.leads.edit` at `team` (into a team the caller belongs
//! to, to a member of that team) or at `all`; putting it in a team the
//! caller is not in needs `all`.

use shared::auth::Actor;
use shared::http::{ApiError, ValidationErrors};
use shared::keys::{self, SortKey};
use shared::permissions::{actions, PermissionDenied, Scope};
use shared::records::{TeamRecord, UserRecord};
use shared::store::Store;
use uuid::Uuid;

/// The owner and team a write asks for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignee {
    pub owner_id: Uuid,
    pub owner_email: String,
    pub team_id: Option<Uuid>,
}

/// The scope of `crm.leads.edit` the caller holds (super admins: `all`).
fn edit_scope(actor: &Actor) -> Option<Scope> {
    if actor.claims().is_super_admin {
        return Some(Scope::All);
    }
    actor
        .claims()
        .permissions
        .grant(actions::CRM_LEADS_EDIT)
        .and_then(|g| match g {
            shared::permissions::Grant::Scope(s) => Some(s),
            shared::permissions::Grant::Bool(_) => None,
        })
}

fn denied(required: Scope, held: Option<Scope>, detail: &str) -> ApiError {
    PermissionDenied {
        permission: actions::CRM_LEADS_EDIT.to_string(),
        detail: detail.to_owned(),
        required: Some(required),
        held,
    }
    .into()
}

/// Checks that the caller may give a lead to `owner_id` in `team_id`
/// (`current`: its owner and team now, unchanged ones need no right), and
/// reads the owner and team in one call: an owner must be an active user
/// of the tenant, a team must exist, and under `team` scope the owner must
/// be a member of it.
pub async fn assign(
    store: &Store,
    actor: &Actor,
    current: Option<(Uuid, Option<Uuid>)>,
    owner_id: Uuid,
    team_id: Option<Uuid>,
) -> Result<Assignee, ApiError> {
    let held = edit_scope(actor);
    let me = actor.user_id();
    let my_teams = &actor.claims().team_ids;
    let new_owner = current.is_none_or(|(o, _)| o != owner_id) && owner_id != me;
    let new_team = team_id.filter(|t| current.is_none_or(|(_, ct)| ct != Some(*t)));
    let foreign_team = new_team.filter(|t| !my_teams.contains(t));
    if held != Some(Scope::All) {
        if new_owner && held != Some(Scope::Team) {
            return Err(denied(
                Scope::Team,
                held,
                "You do not have permission to give leads to another user.",
            ));
        }
        if foreign_team.is_some() {
            return Err(denied(
                Scope::All,
                held,
                "You do not have permission to put leads in a team you are not a member of.",
            ));
        }
        if new_owner && team_id.is_none_or(|t| !my_teams.contains(&t)) {
            return Err(denied(
                Scope::All,
                held,
                "With scope team, give leads only within one of your teams (set team_id).",
            ));
        }
    }
    let mut sks: Vec<SortKey> = vec![keys::user(owner_id).into()];
    if let Some(team) = team_id {
        sks.push(keys::team(team).into());
    }
    let tenant = store.tenant(actor.scope());
    let mut fetched = tenant.get_many(&sks).await?;
    let owner: Option<UserRecord> = fetched.take(&keys::user(owner_id))?;
    let team: Option<TeamRecord> = match team_id {
        Some(team) => fetched.take(&keys::team(team))?,
        None => None,
    };
    let mut errors = ValidationErrors::new();
    let owner = owner.filter(|u| u.is_active);
    if owner.is_none() {
        errors.add("owner_id", format!("Unknown or inactive user {owner_id}."));
    }
    if let (Some(id), None) = (team_id, &team) {
        errors.add("team_id", format!("Unknown team {id}."));
    }
    let scoped_to_team = held != Some(Scope::All) && new_owner;
    if let (Some(owner), Some(team)) = (&owner, &team) {
        if scoped_to_team && !owner.team_ids.contains(&team.id) {
            errors.add(
                "owner_id",
                format!("{} is not a member of team {}.", owner.email, team.name),
            );
        }
    }
    errors.into_result()?;
    let owner = owner.ok_or(ApiError::NotFound)?;
    Ok(Assignee {
        owner_id: owner.id,
        owner_email: owner.email,
        team_id,
    })
}

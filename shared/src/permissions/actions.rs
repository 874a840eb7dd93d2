//! One constant per catalog action. Each is resolved against the catalog at
//! compile time, and [`ALL`] must list every catalog action in catalog order
//! (also checked at compile time), so code and catalog cannot drift.

use super::catalog::{lookup, ACTION_COUNT};
use super::permission_key::PermissionKey;

macro_rules! keys {
    ($($name:ident = $key:literal;)*) => {
        $(
            #[doc = concat!("`", $key, "`")]
            pub const $name: PermissionKey = PermissionKey::from_catalog($key);
        )*
        /// Every key, in catalog order.
        pub const ALL: &[PermissionKey] = &[$($name),*];
    };
}

keys! {
    CRM_LEADS_VIEW = "crm.leads.view";
    CRM_LEADS_CREATE = "crm.leads.create";
    CRM_LEADS_EDIT = "crm.leads.edit";
    CRM_LEADS_DELETE = "crm.leads.delete";
    CRM_LEADS_EXPORT = "crm.leads.export";
    CRM_ACTIVITIES_VIEW = "crm.activities.view";
    CRM_ACTIVITIES_CREATE = "crm.activities.create";
    CRM_ACTIVITIES_EDIT = "crm.activities.edit";
    CRM_ACTIVITIES_DELETE = "crm.activities.delete";
    CRM_PAYMENTS_VIEW = "crm.payments.view";
    CRM_PAYMENTS_CREATE = "crm.payments.create";
    CRM_PAYMENTS_EDIT = "crm.payments.edit";
    CRM_PAYMENTS_DELETE = "crm.payments.delete";
    WHATSAPP_MESSAGES_SEND = "whatsapp.messages.send";
    WHATSAPP_MESSAGES_VIEW = "whatsapp.messages.view";
    WHATSAPP_MESSAGES_DELETE = "whatsapp.messages.delete";
    WHATSAPP_TEMPLATES_VIEW = "whatsapp.templates.view";
    WHATSAPP_TEMPLATES_CREATE = "whatsapp.templates.create";
    WHATSAPP_TEMPLATES_EDIT = "whatsapp.templates.edit";
    WHATSAPP_TEMPLATES_DELETE = "whatsapp.templates.delete";
    MEETINGS_MEETINGS_VIEW = "meetings.meetings.view";
    MEETINGS_MEETINGS_CREATE = "meetings.meetings.create";
    MEETINGS_MEETINGS_EDIT = "meetings.meetings.edit";
    MEETINGS_MEETINGS_DELETE = "meetings.meetings.delete";
    MEETINGS_MEETINGS_CANCEL = "meetings.meetings.cancel";
    TASKS_TASKS_VIEW = "tasks.tasks.view";
    TASKS_TASKS_CREATE = "tasks.tasks.create";
    TASKS_TASKS_EDIT = "tasks.tasks.edit";
    TASKS_TASKS_DELETE = "tasks.tasks.delete";
    TASKS_TASKS_ASSIGN = "tasks.tasks.assign";
    ADMINISTRATION_USERS_VIEW = "administration.users.view";
    ADMINISTRATION_USERS_MANAGE = "administration.users.manage";
    ADMINISTRATION_ROLES_VIEW = "administration.roles.view";
    ADMINISTRATION_ROLES_MANAGE = "administration.roles.manage";
    ADMINISTRATION_TEAMS_VIEW = "administration.teams.view";
    ADMINISTRATION_TEAMS_MANAGE = "administration.teams.manage";
    ADMINISTRATION_TENANT_VIEW = "administration.tenant.view";
    ADMINISTRATION_TENANT_MANAGE = "administration.tenant.manage";
    ADMINISTRATION_BILLING_VIEW = "administration.billing.view";
    ADMINISTRATION_BILLING_MANAGE = "administration.billing.manage";
    ADMINISTRATION_AUDIT_VIEW = "administration.audit.view";
    ADMINISTRATION_AUDIT_MANAGE = "administration.audit.manage";
}

// Here rather than in `key`: both read the table above, which `key` sits below.
impl PermissionKey {
    /// The key for a runtime string, if the catalog has it.
    pub fn parse(s: &str) -> Option<PermissionKey> {
        lookup(s).map(PermissionKey::at)
    }

    /// The key at a dense catalog index.
    pub(crate) fn at(index: usize) -> PermissionKey {
        ALL[index]
    }
}

// Compile-time completeness: ALL[i] is the action at dense index i.
const _: () = {
    assert!(
        ALL.len() == ACTION_COUNT,
        "actions::ALL must list every catalog action"
    );
    let mut i = 0;
    while i < ALL.len() {
        assert!(
            ALL[i].index() == i,
            "actions::ALL must follow catalog order"
        );
        i += 1;
    }
};

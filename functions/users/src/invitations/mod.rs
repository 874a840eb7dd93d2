//! Invitations: `/api/users/invitations/...`. An admin invites an address
//! into the tenant with roles and teams; the invitee accepts through the
//! auth function (`POST /api/auth/invitations/accept/`), which creates the
//! user. Records, keys and the acceptance rules are in `shared`.

pub(crate) mod mail;
pub(crate) mod read;
pub(crate) mod view;
pub(crate) mod write;

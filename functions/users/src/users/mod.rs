//! Users: `/api/users/...` (but invitations).

pub(crate) mod assignment;
pub(crate) mod profile;
pub(crate) mod read;
pub(crate) mod view;
pub(crate) mod write;

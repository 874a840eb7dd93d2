//! One [`PermissionKey`] constant per catalog action, expanded from the
//! catalog's table (`catalog_table!`) so code and catalog cannot drift.

use super::catalog::{catalog_table, lookup};
use super::permission_key::PermissionKey;

/// Builds the constants from the table; the labels and kinds stay in the
/// catalog.
macro_rules! constants_from_table {
    ($($module_key:literal, $module_label:literal, $module:expr => {
        $($resource_key:literal, $resource_label:literal => {
            $($name:ident = $kind:ident($action_key:literal, $action_label:literal);)*
        })*
    })*) => {
        /// Dense catalog index of each action: variants number themselves
        /// in table order, which is catalog order.
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        enum Index {
            $($($($name,)*)*)*
        }

        $($($(
            #[doc = concat!("`", $module_key, ".", $resource_key, ".", $action_key, "`")]
            pub const $name: PermissionKey = PermissionKey::from_table(
                Index::$name as usize,
                concat!($module_key, ".", $resource_key, ".", $action_key),
            );
        )*)*)*

        /// Every key, in catalog order.
        pub const ALL: &[PermissionKey] = &[$($($($name,)*)*)*];
    };
}

catalog_table!(constants_from_table);

// Here rather than in `permission_key`: both read the constants above, which
// `permission_key` sits below.
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

//! `named_enum!`: a settings enum whose variants have fixed spellings in grid files and
//! `config.toml` (serde renames), a list of those spellings for error messages, and `Display`.
//! Shared by [`crate::config`] and the modules that own one setting's variants
//! ([`crate::objective`], [`crate::penalty`]).

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s)] $var),+ }
        impl $name {
            /// Every accepted spelling, for error messages.
            pub const NAMES: &'static [&'static str] = &[$($s),+];
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$var),+];
            pub fn as_str(self) -> &'static str { match self { $(Self::$var => $s),+ } }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use named_enum;

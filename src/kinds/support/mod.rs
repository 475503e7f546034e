//! What every kind needs beneath the `Kind` trait, written once: tags over
//! any SDK's tag type, batched reads, the wait after a create, finders that
//! turn "not found" into `None`, the set of changed fields an update gets,
//! and attribute conversions. A kind file holds its schema, its API calls
//! and its conversions; everything generic is here, and no kind reaches
//! into a sibling service for it.

pub mod attrs;
pub mod changes;
pub mod dns;
pub mod find;
pub mod policy;
pub mod read;
pub mod search;
pub mod tag_macros;
pub mod tagging;
pub mod tags;
pub mod token;
pub mod wait;

pub use attrs::{bool_attr, int_field, number, str_attr, str_field, table, to_i32};
pub use changes::{Changes, update, update_from};
pub use find::{AddressTags, FoundId, find_by_address, found};
pub use policy::{canonical_policy, policy_value};
pub use read::{Batch, READ_CONCURRENCY, pages, read_each};
pub use search::{all_matches, first_match};
pub use tag_macros::{sdk_tag_required, sync_tags_with};
pub use tags::{
    Handle, SdkTag, TagApi, Tagging, create_tags, is_ours, sync_tags, tag_changes, tag_pairs,
    tags_value, user_tags,
};
pub use token::client_token;
pub use wait::{delete_poll, present, wait_visible};

// Generic error and retry helpers, in the one place kinds import from.
pub use crate::aws::error::gone_is_ok;
pub use crate::aws::wait::{Poll, Waiter, retry_while_in_use};

//! EFS kinds and what they share: the tag type, life-cycle states.

/// The AWS service of these kinds.
pub const SERVICE: &str = "elasticfilesystem";

pub mod file_system;
pub mod mount_target;

use aws_sdk_efs::types::{LifeCycleState, Tag};

use super::support::{Poll, sdk_tag_required};

sdk_tag_required!(Tag, "an EFS tag");

/// What one look at a file system or mount target being created means for
/// the wait (both share EFS's life-cycle states).
pub fn creation_progress(state: Option<&LifeCycleState>) -> Poll<()> {
    match state {
        Some(LifeCycleState::Available) => Poll::Ready(()),
        Some(s @ (LifeCycleState::Error | LifeCycleState::Deleting | LifeCycleState::Deleted)) => {
            Poll::Failed(s.as_str().to_owned())
        }
        Some(s) => Poll::Pending(s.as_str().to_owned()),
        None => Poll::Pending("not yet visible".into()),
    }
}

/// What one look at a file system or mount target being deleted means:
/// gone (not found, or `deleted`) is done; anything else is still going.
pub fn deletion_progress(state: Option<&LifeCycleState>) -> Poll<()> {
    match state {
        None | Some(LifeCycleState::Deleted) => Poll::Ready(()),
        Some(s) => Poll::Pending(s.as_str().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::support::SdkTag;

    #[test]
    fn creation_waits_through_creating_and_stops_on_error() {
        assert_eq!(
            creation_progress(Some(&LifeCycleState::Available)),
            Poll::Ready(())
        );
        assert!(matches!(
            creation_progress(Some(&LifeCycleState::Creating)),
            Poll::Pending(_)
        ));
        assert!(matches!(
            creation_progress(Some(&LifeCycleState::Updating)),
            Poll::Pending(_)
        ));
        assert!(matches!(creation_progress(None), Poll::Pending(_)));
        assert_eq!(
            creation_progress(Some(&LifeCycleState::Error)),
            Poll::Failed("error".into())
        );
        assert!(matches!(
            creation_progress(Some(&LifeCycleState::Deleting)),
            Poll::Failed(_)
        ));
    }

    #[test]
    fn deletion_is_done_when_gone_or_deleted() {
        assert_eq!(deletion_progress(None), Poll::Ready(()));
        assert_eq!(
            deletion_progress(Some(&LifeCycleState::Deleted)),
            Poll::Ready(())
        );
        assert!(matches!(
            deletion_progress(Some(&LifeCycleState::Deleting)),
            Poll::Pending(_)
        ));
        assert!(matches!(
            deletion_progress(Some(&LifeCycleState::Available)),
            Poll::Pending(_)
        ));
    }

    #[test]
    fn reconcile_tags_are_hidden_from_user_tags() {
        let tags = [
            Tag::from_pair("team".into(), "web".into()).unwrap(),
            Tag::from_pair("reconcile:stack".into(), "s".into()).unwrap(),
        ];
        assert_eq!(crate::kinds::support::tags_value(&tags).str_map().len(), 1);
    }
}

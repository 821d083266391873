//! Tasks reaching their owner live.

use async_graphql::{Context, Result, Subscription};
use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use crate::{
    error::AppError,
    feed::TaskFeed,
    graphql::{support::context::request, support::guards, tasks::Task},
    policy::{self, Resource},
};

/// Subscription fields whose results are the signed-in user's own: each
/// connection runs them for itself, never shared with viewers who see the
/// same data (`crate::http::ws`).
pub const PER_CONNECTION: &[&str] = &["taskAssigned"];

#[derive(Default)]
pub struct TaskSubscription;

#[Subscription]
impl TaskSubscription {
    /// Each task given to you from now on: created for you (by hand, by a playbook, from a follow-up) or
    /// reassigned to you (by hand, or with its account), on every instance, while you may see its customer.
    /// Ends with SUBSCRIPTION_LAGGED when some may have been missed (refetch `myTasks` and subscribe again).
    #[graphql(guard = "guards::CUSTOMERS")]
    async fn task_assigned(&self, ctx: &Context<'_>) -> Result<BoxStream<'static, Result<Task>>> {
        let rc = request(ctx)?;
        let receiver = rc.services.feed.tasks();
        let viewer = rc.live_viewer().clone();
        Ok(stream::unfold(Some(receiver), move |state| {
            let viewer = viewer.clone();
            async move {
                let mut receiver = state?;
                loop {
                    match receiver.recv().await {
                        Ok(TaskFeed::Assigned(assigned)) => {
                            if assigned.task.owner_id != viewer.get().user_id {
                                continue;
                            }
                            // The session may have ended or narrowed since: re-read before showing anything.
                            let Ok(now) = viewer.refresh().await else { return None };
                            let scope = policy::customer_scope(&now, Resource::Customers);
                            if scope.admits(assigned.customer_owner_id, assigned.owner_team_id) {
                                return Some((Ok(Task::one(assigned.task.clone())), Some(receiver)));
                            }
                        }
                        Ok(TaskFeed::Missed) => return Some((Err(AppError::Lagged(0).into()), None)),
                        Err(RecvError::Lagged(n)) => return Some((Err(AppError::Lagged(n).into()), None)),
                        Err(RecvError::Closed) => return None,
                    }
                }
            }
        })
        .boxed())
    }
}

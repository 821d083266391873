//! Live ticket updates. Before each event the viewer is re-checked (a user
//! deactivated meanwhile ends the stream; a changed role, team or scope set
//! applies at once), then visibility is checked with the same policy as
//! queries, against the customer's owner at the time of the event: after an
//! account is reassigned away, its next event no longer reaches the old owner.
//!
//! The WebSocket transport shares executions between subscribers
//! (its `fanout` module): it runs a subscription for one change at a time,
//! given as [`OneChange`], and once with no change when a subscriber
//! subscribes, for the checks alone (an invisible ticket is NOT_FOUND then).

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Result, SimpleObject, Subscription};
use entity::ticket;
use futures_util::{Stream, StreamExt, stream, stream::BoxStream};
use sea_orm::{ColumnTrait, QueryFilter};
use tokio::sync::broadcast::error::RecvError;

use crate::{
    auth::LiveViewer,
    error::AppError,
    feed::TicketChange,
    graphql::{
        support::{
            context::request,
            enums::{TicketCategory, to_domain},
            guards, ids,
        },
        tickets::{Ticket, TicketEvent},
    },
    policy::{self, Resource},
    service::tickets::{self, TicketFilter},
};

/// One change of a ticket: the history entry and the ticket as it is now.
#[derive(SimpleObject)]
pub struct TicketUpdate {
    /// What happened.
    pub event: TicketEvent,
    /// The ticket after the change.
    pub ticket: Ticket,
}

/// Arguments of the subscription fields whose meaning depends on who asks
/// (root field, path of the argument): two viewers who see the same data but
/// set one of these get different results, so they never share an execution
/// (`crate::http::fanout`). Every such argument is listed here.
pub const VIEWER_DEPENDENT_ARGUMENTS: &[(&str, &[&str])] = &[("ticketEvents", &["filter", "assignedToMe"])];

/// Which ticket changes to receive; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct TicketEventFilterInput {
    /// Only tickets of this customer.
    pub customer_id: Option<ID>,
    /// Only tickets assigned to you.
    #[graphql(default)]
    pub assigned_to_me: bool,
    /// Only these categories.
    pub categories: Option<Vec<TicketCategory>>,
}

type Keep = Arc<dyn Fn(&TicketChange) -> bool + Send + Sync>;

/// Request data of a shared execution: the one change to run the
/// subscription for, or `None` to run only its checks.
pub struct OneChange(pub Option<Arc<TicketChange>>);

type Changes = BoxStream<'static, Result<Arc<TicketChange>, RecvError>>;

/// The changes a subscription reads: the feed from now on, or the one change
/// of a shared execution. `check` runs first, except for a shared execution's
/// change (its subscribers passed it when they subscribed).
async fn changes<F>(ctx: &Context<'_>, check: F) -> Result<Changes>
where
    F: std::future::Future<Output = Result<()>>,
{
    match ctx.data_opt::<OneChange>() {
        Some(OneChange(Some(change))) => Ok(stream::iter([Ok(change.clone())]).boxed()),
        Some(OneChange(None)) => {
            check.await?;
            Ok(stream::empty().boxed())
        }
        None => {
            // Listen before checking, so no event slips in between.
            let receiver = request(ctx)?.services.feed.subscribe();
            check.await?;
            Ok(stream::unfold(receiver, |mut receiver| async move {
                match receiver.recv().await {
                    Err(RecvError::Closed) => None,
                    item => Some((item, receiver)),
                }
            })
            .boxed())
        }
    }
}

/// The changes a viewer may see and wants, ending with SUBSCRIPTION_LAGGED when
/// the subscriber falls too far behind, and without a word when the viewer's
/// session ended (the connection closes with its code).
fn updates(changes: Changes, viewer: LiveViewer, keep: Keep) -> impl Stream<Item = Result<TicketUpdate>> {
    stream::unfold(Some(changes), move |state| {
        let (keep, viewer) = (keep.clone(), viewer.clone());
        async move {
            let mut changes = state?;
            loop {
                let change = changes.next().await?;
                let scope = match &change {
                    Ok(_) => match viewer.refresh().await {
                        Ok(current) => policy::customer_scope(&current, Resource::Tickets),
                        Err(_) => return None,
                    },
                    Err(_) => policy::CustomerScope::Nothing,
                };
                match change {
                    Ok(change) if scope.admits(change.owner_id, change.owner_team_id) && keep(&change) => {
                        let update = TicketUpdate {
                            event: change.event.clone().into(),
                            ticket: Ticket::one(change.ticket.clone()),
                        };
                        return Some((Ok(update), Some(changes)));
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(missed)) => return Some((Err(AppError::Lagged(missed).into()), None)),
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    })
}

#[derive(Default)]
pub struct TicketSubscription;

#[Subscription]
impl TicketSubscription {
    /// Every change of one ticket you can see; NOT_FOUND otherwise.
    #[graphql(guard = "guards::TICKETS")]
    async fn ticket_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ticket.")] id: ID,
    ) -> Result<impl Stream<Item = Result<TicketUpdate>>> {
        let rc = request(ctx)?;
        let id = ids::decode("Ticket", "id", &id)?;
        let check = async {
            let filter = TicketFilter { include_archived: true, ..Default::default() };
            tickets::select(&rc.viewer(), &filter)
                .filter(ticket::Column::Id.eq(id))
                .one(&rc.db)
                .await
                .map_err(AppError::from)?
                .ok_or(AppError::NotFound("ticket"))?;
            Ok(())
        };
        let changes = changes(ctx, check).await?;
        let keep: Keep = Arc::new(move |change| change.ticket.id == id);
        Ok(updates(changes, rc.live_viewer().clone(), keep))
    }

    /// Changes of every ticket you can see, optionally narrowed by `filter`.
    #[graphql(guard = "guards::TICKETS")]
    async fn ticket_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which changes; all given conditions must hold.")] filter: Option<TicketEventFilterInput>,
    ) -> Result<impl Stream<Item = Result<TicketUpdate>>> {
        let rc = request(ctx)?;
        let filter = filter.unwrap_or_default();
        let customer_id = ids::decode_opt("Customer", "customerId", filter.customer_id.as_ref())?;
        let check = async {
            if let Some(customer_id) = customer_id {
                policy::visible_customer(&rc.db, &rc.viewer(), customer_id).await?;
            }
            Ok(())
        };
        let changes = changes(ctx, check).await?;
        let categories: Vec<entity::enums::TicketCategory> = to_domain(filter.categories);
        let me = filter.assigned_to_me.then_some(rc.viewer().user_id);
        let keep: Keep = Arc::new(move |change| {
            let t = &change.ticket;
            customer_id.is_none_or(|c| t.customer_id == c)
                && me.is_none_or(|me| t.assignee_id == Some(me))
                && (categories.is_empty() || categories.contains(&t.category))
        });
        Ok(updates(changes, rc.live_viewer().clone(), keep))
    }
}

//! GraphQL mirrors of the domain vocabularies, with the descriptions clients read.

use async_graphql::Enum;
use entity::enums as domain;

macro_rules! api_enum {
    ($(#[$meta:meta])* $name:ident = $remote:literal { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
        #[graphql(remote = $remote)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }
    };
}

api_enum!(
    /// What an employee or service account may do.
    Role = "domain::Role" {
        /// Everything, including users and teams.
        Admin,
        /// Reads every customer and reassigns accounts.
        Leader,
        /// Customers owned by their team.
        TeamLead,
        /// Customers they own.
        Rep,
        /// A service account limited to its scopes.
        Integration,
    }
);

api_enum!(
    /// Where a customer stands in its life cycle.
    CustomerStatus = "domain::CustomerStatus" {
        /// Not buying yet.
        Prospect,
        /// Buying.
        Active,
        /// Left us; see its churn events.
        Lost,
        /// Came back after being lost.
        WonBack,
    }
);

api_enum!(
    /// Level of partnership, from easiest to copy to hardest to leave.
    PartnershipTier = "domain::PartnershipTier" {
        /// Held by discounts, credit and rebates; easily copied by competitors.
        Price,
        /// Personalised service and a network of relationships inside the customer.
        Service,
        /// Lock-in on both sides: leaving costs both.
        Strategic,
    }
);

api_enum!(
    /// Mechanism that binds a strategic partnership.
    LockIn = "domain::LockIn" {
        /// Equity participation.
        Equity,
        /// Products developed together.
        JointDevelopment,
        /// Exclusive supply agreement.
        ExclusiveSupply,
        /// Equipment dedicated to the customer.
        DedicatedEquipment,
        /// Shared IT or planning systems.
        SharedSystems,
        /// Training of the customer's staff.
        Training,
    }
);

api_enum!(
    /// Our offer against the customer's purchasing standard.
    PurchasingFit = "domain::PurchasingFit" {
        /// Ours meets it, competitors' do not.
        Safe,
        /// Both ours and competitors' meet it.
        Warning,
        /// Only competitors' meet it.
        Alarm,
    }
);

api_enum!(
    /// Strategic importance of a customer beyond its revenue.
    StrategicImportance = "domain::StrategicImportance" {
        /// Key account.
        High,
        /// Regular account.
        Medium,
        /// Marginal account.
        Low,
    }
);

api_enum!(
    /// Impact segment of a customer (the 80/20 split).
    Segment = "domain::Segment" {
        /// High revenue and profit.
        LargeQuality,
        /// Middle of the distribution.
        Average,
        /// Small but profitable.
        SmallQuality,
        /// Small and ordinary.
        SmallOrdinary,
        /// Costs more than it brings.
        Bleeding,
    }
);

api_enum!(
    /// Level of a contact in the customer's organisation.
    OrgLevel = "domain::OrgLevel" {
        /// Executive or general manager.
        Executive,
        /// Management.
        Management,
        /// Purchasing.
        Purchasing,
        /// Technical staff.
        Technical,
        /// End users of what we sell.
        EndUser,
    }
);

api_enum!(
    /// How a touchpoint happened.
    Channel = "domain::Channel" {
        /// On-site visit.
        Visit,
        /// Phone or video call.
        Call,
        /// E-mail.
        Email,
        /// Meeting.
        Meeting,
        /// Executive-to-executive meeting.
        ExecutiveMeeting,
        /// Event or trade show.
        Event,
        /// Chat or text message.
        Message,
    }
);

api_enum!(
    /// Who started a touchpoint.
    Direction = "domain::Direction" {
        /// The customer reached out.
        Inbound,
        /// We reached out.
        Outbound,
    }
);

api_enum!(
    /// What a ticket is about.
    TicketCategory = "domain::TicketCategory" {
        /// Product quality.
        Quality,
        /// Late or wrong delivery.
        Delivery,
        /// Packaging.
        Packaging,
        /// Wrong quantity.
        Quantity,
        /// Payment terms.
        PaymentTerms,
        /// Price.
        Price,
        /// Service.
        Service,
        /// Communication.
        Communication,
        /// Promotion support.
        PromotionSupport,
        /// Anything else.
        Other,
    }
);

api_enum!(
    /// How urgent a ticket is.
    TicketPriority = "domain::TicketPriority" {
        /// Low.
        Low,
        /// Medium.
        Medium,
        /// High.
        High,
        /// Urgent.
        Urgent,
    }
);

api_enum!(
    /// Where a ticket is in its life cycle.
    TicketStatus = "domain::TicketStatus" {
        /// New.
        Open,
        /// Being worked on.
        InProgress,
        /// Waiting for the customer.
        WaitingOnCustomer,
        /// Solved, awaiting confirmation.
        Resolved,
        /// Done.
        Closed,
        /// Opened again after resolution.
        Reopened,
    }
);

api_enum!(
    /// What a ticket history entry records.
    TicketEventKind = "domain::TicketEventKind" {
        /// The ticket was created.
        Created,
        /// A comment.
        Comment,
        /// The status changed.
        StatusChange,
        /// The assignee changed.
        Assignment,
        /// The priority changed.
        PriorityChange,
        /// Title, description or category changed.
        Updated,
    }
);

api_enum!(
    /// Where a task is.
    TaskStatus = "domain::TaskStatus" {
        /// To do.
        Open,
        /// Done (who and when are kept).
        Done,
        /// Dropped without being done (who and when are kept).
        Cancelled,
    }
);

api_enum!(
    /// How urgent a task is.
    TaskPriority = "domain::TaskPriority" {
        /// When there is time.
        Low,
        /// The default.
        Medium,
        /// Before other work.
        High,
        /// Now.
        Urgent,
    }
);

api_enum!(
    /// What created a task.
    TaskSource = "domain::TaskSource" {
        /// Someone created it.
        Manual,
        /// A playbook's trigger fired (the task names the playbook and the occurrence).
        Playbook,
        /// A communication's follow-up date (the task names the communication).
        FollowUp,
    }
);

api_enum!(
    /// What was promised.
    CommitmentKind = "domain::CommitmentKind" {
        /// A rebate.
        Rebate,
        /// A delivery date.
        Delivery,
        /// A service visit or action.
        Service,
        /// A price.
        Price,
        /// Anything else.
        Other,
    }
);

api_enum!(
    /// A loss or a win-back.
    ChurnKind = "domain::ChurnKind" {
        /// The customer left.
        Lost,
        /// The customer came back.
        WonBack,
    }
);

api_enum!(
    /// Why a customer left. CHANGED_BUSINESS and BECAME_COMPETITOR are beyond our control; all others are controllable.
    ChurnReason = "domain::ChurnReason" {
        /// Price.
        Price,
        /// Quality.
        Quality,
        /// Service.
        Service,
        /// Communication.
        Communication,
        /// A competitor's offer.
        CompetitorOffer,
        /// A promise we did not keep.
        BrokenPromise,
        /// Our rep left.
        RepDeparture,
        /// The customer changed business (uncontrollable).
        ChangedBusiness,
        /// The customer became a competitor (uncontrollable).
        BecameCompetitor,
        /// Other (counted as controllable).
        Other,
    }
);

api_enum!(
    /// Typed edge between two customers.
    CustomerLinkKind = "domain::CustomerLinkKind" {
        /// `from` distributes to `to`.
        DistributesTo,
        /// `from` was referred by `to`.
        ReferredBy,
    }
);

/// Where a ticket stands against its SLA.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::rules::sla::SlaState")]
pub enum SlaState {
    /// Deadlines met or comfortably ahead.
    OnTrack,
    /// Less than a quarter of the time to the next deadline is left.
    AtRisk,
    /// A deadline was missed.
    Breached,
}

/// Sort direction.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderDirection {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

impl OrderDirection {
    pub fn descending(self) -> bool {
        self == Self::Desc
    }
}

/// Converts a list of API enum values to domain values.
pub fn to_domain<A: Copy + Into<D>, D>(values: Option<Vec<A>>) -> Vec<D> {
    values.unwrap_or_default().into_iter().map(Into::into).collect()
}

//! Closed vocabularies of the domain, stored as upper-case strings so that the
//! database stays readable and a new value needs no schema change.

use sea_orm::entity::prelude::*;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
        pub enum $name {
            $(
                #[sea_orm(string_value = $value)]
                $variant,
            )+
        }

        impl $name {
            /// The stored (and API) spelling of the value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $value,)+
                }
            }
        }
    };
}

string_enum!(
    /// What an employee may do; see DESIGN.md "Who sees what".
    Role { Admin = "ADMIN", Leader = "LEADER", TeamLead = "TEAM_LEAD", Rep = "REP", Integration = "INTEGRATION" }
);

string_enum!(
    /// Where a customer stands in its life cycle with us.
    CustomerStatus { Prospect = "PROSPECT", Active = "ACTIVE", Lost = "LOST", WonBack = "WON_BACK" }
);

string_enum!(
    /// The three levels of partnership, from easiest to copy to hardest to leave.
    PartnershipTier { Price = "PRICE", Service = "SERVICE", Strategic = "STRATEGIC" }
);

string_enum!(
    /// Mechanisms that make leaving costly for both sides in a strategic partnership.
    LockIn {
        Equity = "EQUITY",
        JointDevelopment = "JOINT_DEVELOPMENT",
        ExclusiveSupply = "EXCLUSIVE_SUPPLY",
        DedicatedEquipment = "DEDICATED_EQUIPMENT",
        SharedSystems = "SHARED_SYSTEMS",
        Training = "TRAINING",
    }
);

string_enum!(
    /// Whether our offer meets the customer's purchasing standard compared to competitors.
    PurchasingFit { Safe = "SAFE", Warning = "WARNING", Alarm = "ALARM" }
);

string_enum!(
    /// How much a customer matters beyond its current revenue.
    StrategicImportance { High = "HIGH", Medium = "MEDIUM", Low = "LOW" }
);

string_enum!(
    /// Impact segment of a customer (the 80/20 split).
    Segment {
        LargeQuality = "LARGE_QUALITY",
        Average = "AVERAGE",
        SmallQuality = "SMALL_QUALITY",
        SmallOrdinary = "SMALL_ORDINARY",
        Bleeding = "BLEEDING",
    }
);

string_enum!(
    /// Level of a contact inside the customer's organisation.
    OrgLevel {
        Executive = "EXECUTIVE",
        Management = "MANAGEMENT",
        Purchasing = "PURCHASING",
        Technical = "TECHNICAL",
        EndUser = "END_USER",
    }
);

string_enum!(
    /// How a touchpoint happened.
    Channel {
        Visit = "VISIT",
        Call = "CALL",
        Email = "EMAIL",
        Meeting = "MEETING",
        ExecutiveMeeting = "EXECUTIVE_MEETING",
        Event = "EVENT",
        Message = "MESSAGE",
    }
);

string_enum!(
    /// Who started a touchpoint.
    Direction { Inbound = "INBOUND", Outbound = "OUTBOUND" }
);

string_enum!(
    /// What a ticket is about; the error audit counts these.
    TicketCategory {
        Quality = "QUALITY",
        Delivery = "DELIVERY",
        Packaging = "PACKAGING",
        Quantity = "QUANTITY",
        PaymentTerms = "PAYMENT_TERMS",
        Price = "PRICE",
        Service = "SERVICE",
        Communication = "COMMUNICATION",
        PromotionSupport = "PROMOTION_SUPPORT",
        Other = "OTHER",
    }
);

string_enum!(
    /// How urgent a ticket is.
    TicketPriority { Low = "LOW", Medium = "MEDIUM", High = "HIGH", Urgent = "URGENT" }
);

string_enum!(
    /// Where a ticket is in its life cycle.
    TicketStatus {
        Open = "OPEN",
        InProgress = "IN_PROGRESS",
        WaitingOnCustomer = "WAITING_ON_CUSTOMER",
        Resolved = "RESOLVED",
        Closed = "CLOSED",
        Reopened = "REOPENED",
    }
);

string_enum!(
    /// What a ticket history row records.
    TicketEventKind {
        Created = "CREATED",
        Comment = "COMMENT",
        StatusChange = "STATUS_CHANGE",
        Assignment = "ASSIGNMENT",
        PriorityChange = "PRIORITY_CHANGE",
        Updated = "UPDATED",
    }
);

string_enum!(
    /// What was promised to a customer.
    CommitmentKind { Rebate = "REBATE", Delivery = "DELIVERY", Service = "SERVICE", Price = "PRICE", Other = "OTHER" }
);

string_enum!(
    /// Whether a churn event is a loss or a win-back.
    ChurnKind { Lost = "LOST", WonBack = "WON_BACK" }
);

string_enum!(
    /// Why a customer left.
    ChurnReason {
        Price = "PRICE",
        Quality = "QUALITY",
        Service = "SERVICE",
        Communication = "COMMUNICATION",
        CompetitorOffer = "COMPETITOR_OFFER",
        BrokenPromise = "BROKEN_PROMISE",
        RepDeparture = "REP_DEPARTURE",
        ChangedBusiness = "CHANGED_BUSINESS",
        BecameCompetitor = "BECAME_COMPETITOR",
        Other = "OTHER",
    }
);

impl ChurnReason {
    /// Whether the cause was in our hands: price, quality, service,
    /// communication, a competitor's offer, a broken promise or a rep's
    /// departure were; the customer changing business or becoming a competitor
    /// were not; OTHER is unknown (`None`), and reports say so.
    pub fn controllability(self) -> Option<bool> {
        match self {
            Self::ChangedBusiness | Self::BecameCompetitor => Some(false),
            Self::Other => None,
            _ => Some(true),
        }
    }
}

string_enum!(
    /// Typed edge between two customers.
    CustomerLinkKind { DistributesTo = "DISTRIBUTES_TO", ReferredBy = "REFERRED_BY" }
);

string_enum!(
    /// Where a task is: open, or closed as done or cancelled.
    TaskStatus { Open = "OPEN", Done = "DONE", Cancelled = "CANCELLED" }
);

string_enum!(
    /// How urgent a task is.
    TaskPriority { Low = "LOW", Medium = "MEDIUM", High = "HIGH", Urgent = "URGENT" }
);

string_enum!(
    /// What created a task.
    TaskSource { Manual = "MANUAL", Playbook = "PLAYBOOK", FollowUp = "FOLLOW_UP" }
);

string_enum!(
    /// What fires a playbook.
    PlaybookTrigger {
        HealthDropped = "HEALTH_DROPPED",
        ChampionLeft = "CHAMPION_LEFT",
        SlaBreached = "SLA_BREACHED",
        CommitmentOverdue = "COMMITMENT_OVERDUE",
        KeyDateApproaching = "KEY_DATE_APPROACHING",
        NoExecutiveContact = "NO_EXECUTIVE_CONTACT",
        FollowUpDue = "FOLLOW_UP_DUE",
    }
);

string_enum!(
    /// Who gets a playbook's task.
    PlaybookAssignee { Owner = "OWNER", TeamLead = "TEAM_LEAD", User = "USER" }
);

string_enum!(
    /// The kind of row a custom field belongs to.
    CustomFieldEntity { Customer = "CUSTOMER", Contact = "CONTACT", Ticket = "TICKET" }
);

string_enum!(
    /// The type of a custom field's values.
    CustomFieldType {
        String = "STRING",
        Number = "NUMBER",
        Date = "DATE",
        Boolean = "BOOLEAN",
        Enum = "ENUM",
        Money = "MONEY",
    }
);

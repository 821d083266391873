//! The rules of account health that configuration sets: the signals a score
//! is made of, the most points each may take off (`RAPPORT_HEALTH_WEIGHTS`),
//! and the scores the levels start below (`RAPPORT_HEALTH_LEVELS`). The
//! scoring itself is `crate::analytics::health`.

crate::names::named! {
    /// Where a score stands.
    pub enum HealthLevel {
        Critical = "CRITICAL",
        AtRisk = "AT_RISK",
        Watch = "WATCH",
        Healthy = "HEALTHY",
    }
}

crate::names::named! {
    /// What a signal measures.
    pub enum SignalKind {
        RelationshipBreadth = "RELATIONSHIP_BREADTH",
        ChampionLeft = "CHAMPION_LEFT",
        ExecutiveContact = "EXECUTIVE_CONTACT",
        CommunicationRecency = "COMMUNICATION_RECENCY",
        TicketsPastSla = "TICKETS_PAST_SLA",
        ComplaintTrend = "COMPLAINT_TREND",
        OverdueCommitments = "OVERDUE_COMMITMENTS",
        RevenueTrend = "REVENUE_TREND",
        PurchasingFit = "PURCHASING_FIT",
        Satisfaction = "SATISFACTION",
        OwnerInactive = "OWNER_INACTIVE",
        PartnershipTier = "PARTNERSHIP_TIER",
        OverdueTasks = "OVERDUE_TASKS",
    }
}

impl SignalKind {
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Weights (the most points a signal can take off) and level thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthRules {
    weights: [f64; SignalKind::ALL.len()],
    /// A score below this is WATCH (at or above: HEALTHY).
    pub watch_below: i32,
    /// A score below this is AT_RISK.
    pub at_risk_below: i32,
    /// A score below this is CRITICAL.
    pub critical_below: i32,
}

impl Default for HealthRules {
    fn default() -> Self {
        let mut weights = [0.0; SignalKind::ALL.len()];
        for (kind, weight) in [
            (SignalKind::RelationshipBreadth, 20.0),
            (SignalKind::ChampionLeft, 15.0),
            (SignalKind::ExecutiveContact, 10.0),
            (SignalKind::CommunicationRecency, 15.0),
            (SignalKind::TicketsPastSla, 15.0),
            (SignalKind::ComplaintTrend, 10.0),
            (SignalKind::OverdueCommitments, 15.0),
            (SignalKind::RevenueTrend, 20.0),
            (SignalKind::PurchasingFit, 15.0),
            (SignalKind::Satisfaction, 15.0),
            (SignalKind::OwnerInactive, 10.0),
            (SignalKind::PartnershipTier, 10.0),
            (SignalKind::OverdueTasks, 10.0),
        ] {
            weights[kind.index()] = weight;
        }
        Self { weights, watch_below: 75, at_risk_below: 55, critical_below: 35 }
    }
}

impl HealthRules {
    pub fn weight(&self, kind: SignalKind) -> f64 {
        self.weights[kind.index()]
    }

    /// The level of a score.
    pub fn level(&self, score: i32) -> HealthLevel {
        if score < self.critical_below {
            HealthLevel::Critical
        } else if score < self.at_risk_below {
            HealthLevel::AtRisk
        } else if score < self.watch_below {
            HealthLevel::Watch
        } else {
            HealthLevel::Healthy
        }
    }

    /// Parses `RAPPORT_HEALTH_WEIGHTS` (`KIND=points,...`, 0 to 100 each) and
    /// `RAPPORT_HEALTH_LEVELS` (`WATCH=75,AT_RISK=55,CRITICAL=35`: the score a
    /// level starts below); entries not given keep their defaults.
    pub fn parse(weights: Option<&str>, levels: Option<&str>) -> Result<Self, String> {
        let mut rules = Self::default();
        for (key, value) in pairs(weights)? {
            let kind = SignalKind::parse(key).ok_or_else(|| format!("unknown health signal {key:?}"))?;
            rules.weights[kind.index()] = f64::from(value);
        }
        for (key, value) in pairs(levels)? {
            let value = value as i32;
            match key {
                "WATCH" => rules.watch_below = value,
                "AT_RISK" => rules.at_risk_below = value,
                "CRITICAL" => rules.critical_below = value,
                other => return Err(format!("unknown health level {other:?} (WATCH, AT_RISK, CRITICAL)")),
            }
        }
        if !(rules.watch_below >= rules.at_risk_below && rules.at_risk_below >= rules.critical_below) {
            return Err("levels must be WATCH >= AT_RISK >= CRITICAL".to_owned());
        }
        Ok(rules)
    }
}

fn pairs(text: Option<&str>) -> Result<Vec<(&str, u32)>, String> {
    let mut out = Vec::new();
    for pair in text.unwrap_or_default().split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').ok_or_else(|| format!("{pair:?} is not KEY=number"))?;
        let value: u32 =
            value.trim().parse().ok().filter(|v| *v <= 100).ok_or_else(|| format!("{pair:?}: 0 to 100"))?;
        out.push((key.trim(), value));
    }
    Ok(out)
}

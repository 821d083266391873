//! The thresholds of the customer segments (`RAPPORT_SEGMENT_RULES`); the
//! segments themselves are computed by `crate::analytics::segments`.

use entity::enums::Segment;

/// Thresholds of the segments, in percent (configuration: `RAPPORT_SEGMENT_RULES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentRules {
    /// Top share of revenue-earning customers (by revenue) that can be LARGE_QUALITY.
    pub large_percent: u32,
    /// Top share that is at least AVERAGE.
    pub average_percent: u32,
    /// Gross margin a large customer needs to be LARGE_QUALITY.
    pub large_margin_percent: u32,
    /// Gross margin that makes a small customer SMALL_QUALITY.
    pub quality_margin_percent: u32,
}

impl Default for SegmentRules {
    fn default() -> Self {
        Self { large_percent: 20, average_percent: 50, large_margin_percent: 10, quality_margin_percent: 25 }
    }
}

impl SegmentRules {
    /// Parses `LARGE=20,AVERAGE=50,LARGE_MARGIN=10,QUALITY_MARGIN=25` (any subset).
    pub fn parse(text: Option<&str>) -> Result<Self, String> {
        let mut rules = Self::default();
        for pair in text.unwrap_or_default().split(',').filter(|p| !p.trim().is_empty()) {
            let (key, value) = pair.split_once('=').ok_or_else(|| format!("{pair:?} is not KEY=percent"))?;
            let value: u32 =
                value.trim().parse().ok().filter(|v| *v <= 100).ok_or_else(|| format!("{pair:?}: 0 to 100"))?;
            match key.trim() {
                "LARGE" => rules.large_percent = value,
                "AVERAGE" => rules.average_percent = value,
                "LARGE_MARGIN" => rules.large_margin_percent = value,
                "QUALITY_MARGIN" => rules.quality_margin_percent = value,
                other => return Err(format!("unknown segment rule {other:?}")),
            }
        }
        if rules.average_percent < rules.large_percent {
            return Err("AVERAGE must be at least LARGE".to_owned());
        }
        Ok(rules)
    }
}

/// The order of segments, for sorting (1 first).
pub fn rank(segment: Segment) -> i32 {
    match segment {
        Segment::LargeQuality => 1,
        Segment::Average => 2,
        Segment::SmallQuality => 3,
        Segment::SmallOrdinary => 4,
        Segment::Bleeding => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_with_defaults_and_refuse_nonsense() {
        assert_eq!(SegmentRules::parse(None), Ok(SegmentRules::default()));
        let custom = SegmentRules::parse(Some("LARGE=10, QUALITY_MARGIN=30")).unwrap_or_default();
        assert_eq!((custom.large_percent, custom.quality_margin_percent, custom.average_percent), (10, 30, 50));
        assert!(SegmentRules::parse(Some("LARGE=60,AVERAGE=50")).is_err());
        assert!(SegmentRules::parse(Some("HUGE=1")).is_err());
        assert!(SegmentRules::parse(Some("LARGE=101")).is_err());
    }
}

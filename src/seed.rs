//! `rapport seed-demo`: a deterministic demo company that tells the story of
//! a company losing its key accounts. Over the three years up to the month it
//! is seeded in (36 complete months) it lost 40% of its 180 starting
//! customers, mostly long-standing high-revenue accounts, and gained 18 new
//! ones that buy about a quarter as much. Every date is relative to the
//! seeding day, so the demo tells the same story whenever it is seeded.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use entity::{
    churn_event, commitment, communication, communication_contact, contact, custom_field, custom_value, customer,
    enums::*, partnership, revenue_entry, supply_priority, ticket, ticket_event, user,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};

use crate::{
    error::{AppError, AppResult},
    rules::sla::SlaPolicy,
    service::{
        partnerships::encode_lock_ins,
        users::{NewUser, insert_team, insert_user},
    },
};

/// The group hierarchy, links, surveys and key dates around the accounts.
mod network;
mod relationships;

/// Customers at the start of the three years.
const STARTING: usize = 180;
/// Of those, lost during the three years (40%).
const LOST: usize = 72;
/// New customers won during the three years (10%).
const NEW: usize = 18;

/// SplitMix64: a tiny generator, so the same seed gives the same company everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn month(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default()
}

fn at(date: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_hms_opt(10, 0, 0).unwrap_or_default())
}

/// `start` + `months` months (negative: before).
fn add_months(start: NaiveDate, months: i64) -> NaiveDate {
    let total = i64::from(start.year()) * 12 + i64::from(start.month0()) + months;
    month(total.div_euclid(12) as i32, (total.rem_euclid(12) + 1) as u32)
}

/// A seeded customer, for the ticket history.
struct Account {
    id: i64,
    owner: i64,
    tier: PartnershipTier,
    /// Months (from the first of the three years) during which it was a customer.
    from: u32,
    until: u32,
}

/// Three years of resolved complaints: a few a month, deliveries worst in the
/// winter peak, and the same failures coming back at other customers weeks
/// after they were fixed for one (what the error audit's recurrences show).
async fn history(db: &impl ConnectionTrait, rng: &mut Rng, clock: Clock, accounts: &[Account]) -> AppResult<()> {
    const CATEGORIES: [TicketCategory; 6] = [
        TicketCategory::Delivery,
        TicketCategory::Quality,
        TicketCategory::Quantity,
        TicketCategory::Packaging,
        TicketCategory::PaymentTerms,
        TicketCategory::Communication,
    ];
    for m in 0..35u32 {
        let peak = matches!(clock.nth_month(m).month(), 11 | 12 | 1);
        let count = 3 + rng.below(if peak { 6 } else { 3 });
        for _ in 0..count {
            let customers: Vec<&Account> = accounts.iter().filter(|a| a.from <= m && m < a.until).collect();
            if customers.is_empty() {
                continue;
            }
            let account = *rng.pick(&customers);
            let category = if peak && rng.chance(50) { TicketCategory::Delivery } else { *rng.pick(&CATEGORIES) };
            let priority = *rng.pick(&[TicketPriority::Low, TicketPriority::Medium, TicketPriority::High]);
            let opened =
                at(clock.nth_month(m)) + Duration::days(rng.below(27) as i64) + Duration::hours(rng.below(8) as i64);
            let (response_due, resolution_due) = SlaPolicy::default().due(priority, Some(account.tier), opened);
            // Most are fixed in time; a fifth run late.
            let hours = if rng.chance(20) { 150 + rng.below(200) } else { 4 + rng.below(100) } as i64;
            let resolved = opened + Duration::hours(hours);
            let t = ticket::ActiveModel {
                customer_id: Set(account.id),
                contact_id: Set(None),
                assignee_id: Set(Some(account.owner)),
                title: Set(format!("{} problem", category.as_str().to_lowercase().replace('_', " "))),
                description: Set("Logged from the customer's call.".into()),
                category: Set(category),
                priority: Set(priority),
                status: Set(TicketStatus::Closed),
                first_response_due_at: Set(response_due),
                resolution_due_at: Set(resolution_due),
                first_responded_at: Set(Some(opened + Duration::hours(1))),
                resolved_at: Set(Some(resolved)),
                version: Set(3),
                archived_at: Set(None),
                created_at: Set(opened),
                updated_at: Set(resolved),
                ..Default::default()
            }
            .insert(db)
            .await?;
            for (kind, when, change) in [
                (TicketEventKind::Created, opened, None),
                (TicketEventKind::StatusChange, resolved, Some(("OPEN", "RESOLVED"))),
            ] {
                ticket_event::ActiveModel {
                    ticket_id: Set(t.id),
                    kind: Set(kind),
                    actor_id: Set(account.owner),
                    body: Set(None),
                    from_value: Set(change.map(|c| c.0.to_owned())),
                    to_value: Set(change.map(|c| c.1.to_owned())),
                    created_at: Set(when),
                    updated_at: Set(when),
                    ..Default::default()
                }
                .insert(db)
                .await?;
            }
        }
    }
    Ok(())
}

/// The demo users' e-mails and roles, printed after seeding.
pub struct Seeded {
    pub users: Vec<(String, Role)>,
    pub customers: usize,
}

struct Plan {
    name: String,
    since: NaiveDate,
    monthly_cents: i64,
    lost_in_month: Option<u32>,
    new_in_month: Option<u32>,
}

fn plan(rng: &mut Rng, clock: Clock) -> Vec<Plan> {
    let first_year = clock.nth_month(0).year();
    const PREFIX: [&str; 12] =
        ["Nord", "Alpen", "Delta", "Vista", "Orion", "Atlas", "Corta", "Baltic", "Iberia", "Lumen", "Terra", "Kappa"];
    const SUFFIX: [&str; 8] = ["Retail", "Foods", "Trading", "Markets", "Supply", "Stores", "Group", "Wholesale"];
    let mut plans: Vec<Plan> = (0..STARTING)
        .map(|i| {
            // A Pareto-like spread: a few large accounts carry most of the revenue.
            let rank = (i + 1) as f64;
            let monthly = 4_000_000.0 / rank.powf(0.9) + rng.below(200_000) as f64;
            let years_back = 1 + rng.below(12) as i32;
            Plan {
                name: format!("{} {} {}", PREFIX[i % 12], SUFFIX[(i / 12) % 8], i + 1),
                since: month(first_year - years_back, 1 + rng.below(12) as u32),
                monthly_cents: monthly as i64,
                lost_in_month: None,
                new_in_month: None,
            }
        })
        .collect();
    // Losses lean towards long-standing, high-revenue accounts.
    let weights: Vec<i64> = plans
        .iter()
        .map(|p| p.monthly_cents / 10_000 * i64::from(first_year - p.since.year()) + rng.below(3_000) as i64)
        .collect();
    let mut order: Vec<usize> = (0..STARTING).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(weights[i]));
    let mut lost = 0;
    for &i in &order {
        if lost == LOST {
            break;
        }
        if rng.chance(if i < 50 { 85 } else { 25 }) {
            plans[i].lost_in_month = Some(6 + rng.below(28) as u32);
            lost += 1;
        }
    }
    let average = plans.iter().map(|p| p.monthly_cents).sum::<i64>() / STARTING as i64;
    for n in 0..NEW {
        let joined = 3 + rng.below(30) as u32;
        plans.push(Plan {
            name: format!("{} {} New {}", PREFIX[n % 12], SUFFIX[n % 8], n + 1),
            since: clock.nth_month(joined),
            monthly_cents: average / 5 + rng.below(50_000) as i64,
            lost_in_month: None,
            new_in_month: Some(joined),
        });
    }
    plans
}

/// The demo's calendar: the seeding day, and the first of the 36 months of
/// history before the month it falls in.
#[derive(Clone, Copy)]
struct Clock {
    today: NaiveDate,
    now: DateTime<Utc>,
    first_month: NaiveDate,
}

impl Clock {
    fn on(today: NaiveDate) -> Self {
        let this_month = month(today.year(), today.month());
        // Never after the moment of seeding: before 10:00 UTC, today at 10:00
        // is still to come, and a row created in the future counts in the live
        // figures but not yet in the figures as of now.
        let now = at(today).min(crate::db::now());
        Self { today, now, first_month: add_months(this_month, -36) }
    }

    /// The first day of the `i`th month of the history (negative: before it).
    fn nth_month(self, i: impl Into<i64>) -> NaiveDate {
        add_months(self.first_month, i.into())
    }
}

/// The development password of every demo user who signs in with one (all
/// but the service account), set unless the server runs in production.
pub const DEMO_PASSWORD: &str = "rapport-demo-password";

/// Loads the demo company; refuses when it is already there. With a
/// password, every demo user who may sign in with one gets it.
pub async fn seed_demo(db: &DatabaseConnection, password: Option<&str>) -> AppResult<Seeded> {
    if entity::user::Entity::find().count(db).await? > 0 {
        return Err(AppError::conflict("the database already has users; seed-demo runs on an empty database"));
    }
    let mut rng = Rng(0x5EED_2026);
    let txn = crate::db::write(db).await?;
    let (users, reps) = staff(&txn).await?;
    let clock = Clock::on(crate::db::now().date_naive());
    let plans = plan(&mut rng, clock);
    let mut revenue = Vec::new();
    let mut accounts = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        accounts.push(account(&txn, &mut rng, clock, &reps, i, p, &mut revenue).await?);
    }
    relationships::seed(&txn, clock, &plans, &accounts).await?;
    for chunk in revenue.chunks(500) {
        revenue_entry::Entity::insert_many(chunk.to_vec()).exec_without_returning(&txn).await?;
    }
    history(&txn, &mut rng, clock, &accounts).await?;
    network::seed(&txn, &mut rng, clock, &accounts).await?;
    custom_fields(&txn, &accounts).await?;
    planted_duplicates(&txn, &plans, &accounts).await?;
    if let Some(password) = password {
        set_passwords(&txn, password).await?;
    }
    crate::service::rollups::rebuild(&txn).await?;
    txn.commit().await?;
    crate::service::segments::recompute(db, Default::default(), chrono::Utc::now().date_naive()).await?;
    Ok(Seeded { users: users.into_iter().map(|u| (u.email, u.role)).collect(), customers: plans.len() })
}

/// Two fields of the company's own on customers: the contract level agreed
/// (ENUM) on every account, and the credit limit (MONEY) on every third.
async fn custom_fields(db: &impl ConnectionTrait, accounts: &[Account]) -> AppResult<()> {
    let at = crate::db::now();
    let field =
        |key: &str, label: &str, description: &str, field_type, options: Option<&str>| custom_field::ActiveModel {
            entity: Set(CustomFieldEntity::Customer),
            key: Set(key.to_owned()),
            label: Set(label.to_owned()),
            description: Set(Some(description.to_owned())),
            field_type: Set(field_type),
            options: Set(options.map(str::to_owned)),
            required: Set(false),
            sensitive: Set(false),
            identifier: Set(false),
            archived_at: Set(None),
            version: Set(1),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        };
    let level = field(
        "contract_level",
        "Contract level",
        "The service contract signed with the account.",
        CustomFieldType::Enum,
        Some(r#"["GOLD","SILVER","BRONZE"]"#),
    )
    .insert(db)
    .await?;
    let credit = field("credit_limit", "Credit limit", "Credit granted by finance.", CustomFieldType::Money, None)
        .insert(db)
        .await?;
    let mut values = Vec::new();
    for (i, account) in accounts.iter().enumerate() {
        let value = |field_id: i64, text: Option<&str>, int: Option<i64>| custom_value::ActiveModel {
            field_id: Set(field_id),
            entity: Set(CustomFieldEntity::Customer),
            row_id: Set(account.id),
            text_value: Set(text.map(str::to_owned)),
            number_value: Set(None),
            int_value: Set(int),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        };
        values.push(value(level.id, Some(["GOLD", "SILVER", "BRONZE"][i % 3]), None));
        if i % 3 == 0 {
            values.push(value(credit.id, None, Some(5_000_000 + 1_000_000 * (i as i64 % 5))));
        }
    }
    for chunk in values.chunks(500) {
        custom_value::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Duplicates as integrations and people make them, on the first three live
/// accounts: the same name in capitals with a legal form (and a buyer's
/// e-mail in common), a typing mistake (with a contact at the original's
/// e-mail domain), the words swapped; and at the first of them, its first
/// contact entered again with a title.
async fn planted_duplicates(db: &impl ConnectionTrait, plans: &[Plan], accounts: &[Account]) -> AppResult<()> {
    let live = plans.iter().zip(accounts).filter(|(p, _)| p.lost_in_month.is_none() && p.new_in_month.is_none());
    for (n, (plan, account)) in live.take(3).enumerate() {
        let words: Vec<&str> = plan.name.split(' ').collect();
        let name = match n {
            0 => format!("{} GmbH", plan.name.to_uppercase()),
            1 => {
                let mut first: Vec<char> = words[0].chars().collect();
                first.remove(first.len() / 2);
                format!("{} {}", first.into_iter().collect::<String>(), words[1..].join(" "))
            }
            _ => format!("{} {} {}", words[1], words[0], words[2..].join(" ")),
        };
        let original = customer::Entity::find_by_id(account.id).one(db).await?.ok_or(AppError::NotFound("customer"))?;
        let twin = customer::ActiveModel {
            id: sea_orm::ActiveValue::NotSet,
            name: Set(name),
            status: Set(CustomerStatus::Active),
            segment: Set(None),
            segment_rank: Set(0),
            revenue_t12m_cents: Set(0),
            gross_profit_t12m_cents: Set(0),
            next_review_on: Set(None),
            // Entered lately, with no history of its own: the reports see a new customer without revenue.
            customer_since: Set(None),
            created_at: Set(original.updated_at - Duration::days(10 + n as i64)),
            ..original.clone().into()
        }
        .insert(db)
        .await?;
        if n == 1 {
            // The retyped record came with the company's front desk: its e-mail domain is the original's.
            let domain = format!("customer{}.example", account.id);
            contact::ActiveModel {
                customer_id: Set(twin.id),
                name: Set("Front Desk".to_owned()),
                title: Set(None),
                department: Set(None),
                org_level: Set(OrgLevel::EndUser),
                influence: Set(None),
                relationship_strength: Set(None),
                birthday: Set(None),
                email: Set(Some(format!("info@{domain}"))),
                phone: Set(None),
                started_on: Set(original.customer_since),
                ended_on: Set(None),
                version: Set(1),
                archived_at: Set(None),
                created_at: Set(original.created_at),
                updated_at: Set(original.updated_at),
                ..Default::default()
            }
            .insert(db)
            .await?;
        }
        if n > 0 {
            continue;
        }
        let first = contact::Entity::find()
            .filter(contact::Column::CustomerId.eq(account.id))
            .order_by_asc(contact::Column::Id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound("contact"))?;
        contact::ActiveModel { id: sea_orm::ActiveValue::NotSet, customer_id: Set(twin.id), ..first.clone().into() }
            .insert(db)
            .await?;
        contact::ActiveModel {
            id: sea_orm::ActiveValue::NotSet,
            name: Set(format!("Dr. {}", first.name)),
            ..first.into()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// One hash for all (hashing is slow on purpose, and this is a demo).
async fn set_passwords(db: &impl ConnectionTrait, password: &str) -> AppResult<()> {
    let hash = crate::service::sessions::hash_password(password.to_owned()).await?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, sea_orm::sea_query::Expr::value(hash))
        .filter(user::Column::Role.ne(Role::Integration))
        .exec(db)
        .await?;
    Ok(())
}

/// One of each role to sign in as: leadership, two teams of a lead and three
/// reps, and the ERP's service account. Returns everyone, and the reps apart
/// (they own the customers).
async fn staff(db: &impl ConnectionTrait) -> AppResult<(Vec<user::Model>, Vec<user::Model>)> {
    let north = insert_team(db, "North").await?;
    let south = insert_team(db, "South").await?;
    let admin = insert_user(db, person("admin@rapport.demo", "Ada Admin", Role::Admin, None)).await?;
    let leader = insert_user(db, person("leader@rapport.demo", "Lea Leader", Role::Leader, None)).await?;
    let mut users = vec![admin, leader];
    let mut reps = Vec::new();
    for (team, label) in [(&north, "north"), (&south, "south")] {
        let (lead, members) = team_staff(db, team, label).await?;
        users.push(lead);
        users.extend(members.iter().cloned());
        reps.extend(members);
    }
    let integration = insert_user(
        db,
        NewUser {
            email: "integration@rapport.demo".into(),
            name: "ERP integration".into(),
            role: Role::Integration,
            team_id: None,
            scopes: vec!["customers:read".into(), "graph:read".into(), "revenue:write".into(), "tickets:read".into()],
            phone: None,
        },
    )
    .await?;
    users.push(integration);
    Ok((users, reps))
}

/// A team's lead (named on the team, so the team lead's view has someone in
/// it) and its three reps.
async fn team_staff(
    db: &impl ConnectionTrait,
    team: &entity::team::Model,
    label: &str,
) -> AppResult<(user::Model, Vec<user::Model>)> {
    let lead = insert_user(
        db,
        person(&format!("lead.{label}@rapport.demo"), &format!("Lead {label}"), Role::TeamLead, Some(team.id)),
    )
    .await?;
    let mut row: entity::team::ActiveModel = team.clone().into();
    row.lead_id = Set(Some(lead.id));
    row.update(db).await?;
    let mut reps = Vec::new();
    for n in 1..=3 {
        let rep = insert_user(
            db,
            person(&format!("rep{n}.{label}@rapport.demo"), &format!("Rep {n} {label}"), Role::Rep, Some(team.id)),
        )
        .await?;
        reps.push(rep);
    }
    Ok((lead, reps))
}

/// A demo employee; the phone number follows from the e-mail, so it is the same on every run.
fn person(email: &str, name: &str, role: Role, team: Option<i64>) -> NewUser {
    NewUser {
        email: email.to_owned(),
        name: name.to_owned(),
        role,
        team_id: team,
        scopes: Vec::new(),
        phone: Some(format!("+44 20 7946 {:04}", email.len() * 37 % 10_000)),
    }
}

/// The largest accounts stand on the closest partnerships.
fn tier_of(rank: usize) -> PartnershipTier {
    match rank {
        0..=19 => PartnershipTier::Strategic,
        20..=79 => PartnershipTier::Service,
        _ => PartnershipTier::Price,
    }
}

/// One customer's whole story: the account and its terms, its revenue (kept
/// in `revenue` for one bulk insert), its loss, its people, and for one still
/// with us the work in hand. The order of the steps is the order the
/// generator is drawn from: changing it changes the company.
async fn account(
    db: &impl ConnectionTrait,
    rng: &mut Rng,
    clock: Clock,
    reps: &[user::Model],
    i: usize,
    p: &Plan,
    revenue: &mut Vec<revenue_entry::ActiveModel>,
) -> AppResult<Account> {
    let owner = rng.pick(reps).id;
    let tier = tier_of(i);
    let c = insert_customer(db, rng, clock, i, p, owner, tier).await?;
    insert_partnership(db, c.id, tier, p.since).await?;
    // Starting customers bought for a year before the three years too: the
    // retention report compares the lost ones' revenue of that year.
    let first = p.new_in_month.map_or(-12, i64::from);
    let last = p.lost_in_month.map_or(36, i64::from);
    // Some small accounts cost more than they bring: rebates, returns, rush deliveries.
    let bleeding = (140..STARTING).contains(&i) && rng.chance(30);
    revenue.extend(monthly_revenue(rng, clock, c.id, p.monthly_cents, first..last, bleeding));
    if let Some(lost) = p.lost_in_month {
        insert_loss(db, rng, clock, c.id, owner, lost).await?;
    }
    let contact_ids = insert_contacts(db, rng, clock, c.id, p.since).await?;
    let account = Account { id: c.id, owner, tier, from: first.max(0) as u32, until: last as u32 };
    if c.status == CustomerStatus::Lost {
        return Ok(account);
    }
    let contact_id = contact_ids.first().copied();
    insert_communications(db, rng, clock, c.id, owner, contact_id).await?;
    if rng.chance(35) {
        insert_open_ticket(db, rng, clock, c.id, contact_id, owner, tier).await?;
    }
    if rng.chance(25) {
        insert_commitment(db, rng, clock, c.id, owner, p.monthly_cents).await?;
    }
    if i < 40 {
        insert_supply_priorities(db, clock, c.id, i).await?;
    }
    Ok(account)
}

/// The customer row: lost ones are LOST from the start, as the story ends.
async fn insert_customer(
    db: &impl ConnectionTrait,
    rng: &mut Rng,
    clock: Clock,
    i: usize,
    p: &Plan,
    owner: i64,
    tier: PartnershipTier,
) -> AppResult<customer::Model> {
    const REGIONS: [&str; 4] = ["North", "South", "East", "West"];
    const INDUSTRIES: [&str; 4] = ["Grocery", "Hardware", "Pharmacy", "Fashion"];
    let status = match (p.lost_in_month, p.new_in_month) {
        (Some(_), _) => CustomerStatus::Lost,
        _ => CustomerStatus::Active,
    };
    Ok(customer::ActiveModel {
        name: Set(p.name.clone()),
        industry: Set(Some(rng.pick(&INDUSTRIES).to_string())),
        region: Set(Some(rng.pick(&REGIONS).to_string())),
        status: Set(status),
        owner_id: Set(owner),
        parent_id: Set(None),
        tier: Set(Some(tier)),
        purchasing_fit: Set(Some(*rng.pick(&[PurchasingFit::Safe, PurchasingFit::Warning, PurchasingFit::Alarm]))),
        strategic_importance: Set(if i < 36 { StrategicImportance::High } else { StrategicImportance::Medium }),
        // Computed from revenue below (`service::segments::recompute`).
        segment: Set(None),
        customer_since: Set(Some(p.since)),
        next_review_on: Set(Some(clock.today + Duration::days(rng.below(120) as i64))),
        version: Set(1),
        archived_at: Set(None),
        created_at: Set(at(p.since)),
        updated_at: Set(clock.now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Terms by tier: price partners get the discount, the others the service,
/// strategic ones the lock-ins that make leaving hard.
async fn insert_partnership(
    db: &impl ConnectionTrait,
    customer_id: i64,
    tier: PartnershipTier,
    since: NaiveDate,
) -> AppResult<()> {
    partnership::ActiveModel {
        customer_id: Set(customer_id),
        tier: Set(tier),
        discount_bps: Set(Some(if tier == PartnershipTier::Price { 800 } else { 300 })),
        credit_terms_days: Set(Some(30)),
        service_level: Set((tier != PartnershipTier::Price).then(|| "Next-day response".to_owned())),
        lock_ins: Set(if tier == PartnershipTier::Strategic {
            encode_lock_ins(&[LockIn::ExclusiveSupply, LockIn::SharedSystems])
        } else {
            String::new()
        }),
        since: Set(since),
        review_on: Set(None),
        version: Set(1),
        created_at: Set(at(since)),
        updated_at: Set(at(since)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// A month's figures wobble around the plan, so no two months look alike;
/// a bleeding account sells at a loss.
fn monthly_revenue(
    rng: &mut Rng,
    clock: Clock,
    customer_id: i64,
    monthly_cents: i64,
    months: std::ops::Range<i64>,
    bleeding: bool,
) -> Vec<revenue_entry::ActiveModel> {
    let mut rows = Vec::new();
    for m in months {
        let wobble = 90 + rng.below(21) as i64;
        let cents = monthly_cents * wobble / 100;
        let margin = if bleeding { -(5 + rng.below(10) as i64) } else { 10 + rng.below(25) as i64 };
        rows.push(revenue_entry::ActiveModel {
            customer_id: Set(customer_id),
            month: Set(clock.nth_month(m)),
            revenue_cents: Set(cents),
            gross_profit_cents: Set(cents * margin / 100),
            created_at: Set(clock.now),
            updated_at: Set(clock.now),
            ..Default::default()
        });
    }
    rows
}

/// The loss, with a reason: competitors' offers weigh double, as in the story.
async fn insert_loss(
    db: &impl ConnectionTrait,
    rng: &mut Rng,
    clock: Clock,
    customer_id: i64,
    owner: i64,
    lost: u32,
) -> AppResult<()> {
    let reason = *rng.pick(&[
        ChurnReason::Price,
        ChurnReason::CompetitorOffer,
        ChurnReason::RepDeparture,
        ChurnReason::BrokenPromise,
        ChurnReason::Service,
        ChurnReason::Quality,
        ChurnReason::ChangedBusiness,
        ChurnReason::CompetitorOffer,
    ]);
    churn_event::ActiveModel {
        customer_id: Set(customer_id),
        kind: Set(ChurnKind::Lost),
        occurred_on: Set(clock.nth_month(lost)),
        reason: Set(Some(reason)),
        controllable: Set(reason.controllability()),
        competitor: Set(
            matches!(reason, ChurnReason::CompetitorOffer | ChurnReason::Price).then(|| "Discount Direct".to_owned())
        ),
        notes: Set(None),
        recorded_by: Set(owner),
        created_at: Set(at(clock.nth_month(lost))),
        updated_at: Set(at(clock.nth_month(lost))),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Contacts: some accounts hang on a single purchasing manager (what the
/// relationship reports flag), and a few contacts have left. Returns their ids.
async fn insert_contacts(
    db: &impl ConnectionTrait,
    rng: &mut Rng,
    clock: Clock,
    customer_id: i64,
    since: NaiveDate,
) -> AppResult<Vec<i64>> {
    let single_threaded = rng.chance(30);
    let levels: &[OrgLevel] = if single_threaded {
        &[OrgLevel::Purchasing]
    } else {
        &[OrgLevel::Executive, OrgLevel::Management, OrgLevel::Purchasing, OrgLevel::Technical, OrgLevel::EndUser]
    };
    let mut contact_ids = Vec::new();
    for (n, level) in levels.iter().enumerate() {
        if n > 0 && rng.chance(30) {
            continue;
        }
        let left = rng.chance(8);
        let ct = contact::ActiveModel {
            customer_id: Set(customer_id),
            name: Set(format!(
                "{} {}",
                rng.pick(&[
                    "Ana", "Ben", "Chloe", "Dan", "Eva", "Finn", "Gia", "Hugo", "Ines", "Jon", "Kira", "Luca", "Mia",
                    "Nils", "Olga", "Pia"
                ]),
                rng.pick(&[
                    "Moreau",
                    "Schmidt",
                    "Rossi",
                    "Novak",
                    "Silva",
                    "Berg",
                    "Costa",
                    "Dubois",
                    "Eriksen",
                    "Fischer",
                    "Garcia",
                    "Horvat",
                    "Jansen",
                    "Kowalski",
                    "Lindqvist",
                    "Meyer"
                ])
            )),
            title: Set(Some(format!("{level:?}"))),
            department: Set(None),
            org_level: Set(*level),
            influence: Set(Some(1 + rng.below(5) as i32)),
            relationship_strength: Set(Some(1 + rng.below(5) as i32)),
            birthday: Set(Some(
                month(1965 + rng.below(35) as i32, 1 + rng.below(12) as u32) + Duration::days(rng.below(27) as i64),
            )),
            email: Set(Some(format!("contact{}.{}@customer{}.example", n, customer_id, customer_id))),
            phone: Set(None),
            started_on: Set(Some(since)),
            ended_on: Set(left.then(|| clock.today - Duration::days(30 + rng.below(300) as i64))),
            version: Set(1),
            archived_at: Set(None),
            created_at: Set(at(since)),
            updated_at: Set(clock.now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        contact_ids.push(ct.id);
    }
    Ok(contact_ids)
}

/// Recent touchpoints with the first contact, some with a follow-up ahead,
/// so the care reports have something to show.
async fn insert_communications(
    db: &impl ConnectionTrait,
    rng: &mut Rng,
    clock: Clock,
    customer_id: i64,
    owner: i64,
    contact_id: Option<i64>,
) -> AppResult<()> {
    for _ in 0..(1 + rng.below(4)) {
        let channel =
            *rng.pick(&[Channel::Visit, Channel::Call, Channel::Email, Channel::Meeting, Channel::ExecutiveMeeting]);
        let when = clock.now - Duration::days(rng.below(200) as i64);
        let comm = communication::ActiveModel {
            customer_id: Set(customer_id),
            user_id: Set(owner),
            channel: Set(channel),
            direction: Set(Direction::Outbound),
            occurred_at: Set(when),
            summary: Set(format!("{channel:?} about next season's orders")),
            follow_up_on: Set(rng.chance(30).then(|| clock.today + Duration::days(rng.below(30) as i64))),
            archived_at: Set(None),
            created_at: Set(when),
            updated_at: Set(when),
            ..Default::default()
        }
        .insert(db)
        .await?;
        if let Some(contact_id) = contact_id {
            communication_contact::ActiveModel { communication_id: Set(comm.id), contact_id: Set(contact_id) }
                .insert(db)
                .await?;
        }
    }
    Ok(())
}

/// A complaint still open, due by the SLA of the customer's tier: the live
/// queue beside the resolved history (`history`).
async fn insert_open_ticket(
    db: &impl ConnectionTrait,
    rng: &mut Rng,
    clock: Clock,
    customer_id: i64,
    contact_id: Option<i64>,
    owner: i64,
    tier: PartnershipTier,
) -> AppResult<()> {
    let priority =
        *rng.pick(&[TicketPriority::Low, TicketPriority::Medium, TicketPriority::High, TicketPriority::Urgent]);
    let opened = clock.now - Duration::days(rng.below(20) as i64);
    let (response_due, resolution_due) = SlaPolicy::default().due(priority, Some(tier), opened);
    let t = ticket::ActiveModel {
        customer_id: Set(customer_id),
        contact_id: Set(contact_id),
        assignee_id: Set(Some(owner)),
        title: Set("Complaint about the last delivery".into()),
        description: Set("Reported by the customer's purchasing team.".into()),
        category: Set(*rng.pick(&[
            TicketCategory::Delivery,
            TicketCategory::Quality,
            TicketCategory::Quantity,
            TicketCategory::PaymentTerms,
            TicketCategory::Packaging,
        ])),
        priority: Set(priority),
        status: Set(*rng.pick(&[TicketStatus::Open, TicketStatus::InProgress, TicketStatus::WaitingOnCustomer])),
        first_response_due_at: Set(response_due),
        resolution_due_at: Set(resolution_due),
        first_responded_at: Set(None),
        resolved_at: Set(None),
        version: Set(1),
        archived_at: Set(None),
        created_at: Set(opened),
        updated_at: Set(opened),
        ..Default::default()
    }
    .insert(db)
    .await?;
    ticket_event::ActiveModel {
        ticket_id: Set(t.id),
        kind: Set(TicketEventKind::Created),
        actor_id: Set(owner),
        body: Set(None),
        from_value: Set(None),
        to_value: Set(None),
        created_at: Set(opened),
        updated_at: Set(opened),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// A promise due within six weeks either side of today: some already overdue.
async fn insert_commitment(
    db: &impl ConnectionTrait,
    rng: &mut Rng,
    clock: Clock,
    customer_id: i64,
    owner: i64,
    monthly_cents: i64,
) -> AppResult<()> {
    let due = clock.today + Duration::days(rng.below(90) as i64) - Duration::days(45);
    commitment::ActiveModel {
        customer_id: Set(customer_id),
        kind: Set(*rng.pick(&[CommitmentKind::Rebate, CommitmentKind::Delivery, CommitmentKind::Service])),
        description: Set("Year-end rebate as agreed at the review".into()),
        amount_cents: Set(Some(monthly_cents / 20)),
        due_on: Set(due),
        fulfilled_on: Set(None),
        owner_id: Set(owner),
        version: Set(1),
        archived_at: Set(None),
        created_at: Set(clock.now),
        updated_at: Set(clock.now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The largest accounts come first in the coming peak season's supply plan,
/// with more guaranteed the higher they rank.
async fn insert_supply_priorities(
    db: &impl ConnectionTrait,
    clock: Clock,
    customer_id: i64,
    i: usize,
) -> AppResult<()> {
    const LINES: [&str; 2] = ["Winter tyres", "Garden furniture"];
    for (rank_offset, line) in LINES.iter().enumerate() {
        supply_priority::ActiveModel {
            customer_id: Set(customer_id),
            product_line: Set((*line).to_owned()),
            priority_rank: Set((i + 1 + rank_offset) as i32),
            guaranteed_quantity: Set((500 - i as i64 * 10).max(20)),
            lead_time_days: Set(Some(7)),
            // The peak season is on: it began two months ago and ends in three.
            peak_starts_on: Set(Some(clock.nth_month(34))),
            peak_ends_on: Set(Some(clock.nth_month(39) - Duration::days(1))),
            version: Set(1),
            archived_at: Set(None),
            created_at: Set(clock.now),
            updated_at: Set(clock.now),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

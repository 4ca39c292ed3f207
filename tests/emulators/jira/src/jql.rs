//! The subset of JQL the emulator understands (see the README for the list): clauses on the
//! common fields joined with AND / OR / NOT and parentheses, plus ORDER BY. Queries outside the
//! subset are refused with Jira's JQL error shape rather than answered wrongly.

use std::cmp::Ordering;

use serde_json::Value;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, macros::format_description};

use crate::{
    error::JiraError,
    model::{Issue, RichText},
    state::State,
};

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub filter: Option<Expr>,
    pub order: Vec<(Field, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Clause(Field, Op, Operand),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Project,
    Key,
    Id,
    Labels,
    Status,
    StatusCategory,
    Summary,
    Description,
    Text,
    IssueType,
    Priority,
    Resolution,
    Assignee,
    Reporter,
    Creator,
    Created,
    Updated,
    Resolved,
    Custom(String),
    Property(String, Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Like,
    NotLike,
    Gt,
    Ge,
    Lt,
    Le,
    In,
    NotIn,
    Is,
    IsNot,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Value(String),
    List(Vec<String>),
    Empty,
    CurrentUser,
    Now,
}

fn jql_error(message: impl Into<String>) -> JiraError {
    JiraError::bad_request(message)
}

// ---- lexer ---------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

fn lex(input: &str) -> Result<Vec<Token>, JiraError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Token::LParen);
                i += 1;
            }
            ')' => {
                out.push(Token::RParen);
                i += 1;
            }
            ',' => {
                out.push(Token::Comma);
                i += 1;
            }
            '"' | '\'' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(jql_error(format!(
                                "Error in the JQL Query: The quoted string '{s}' has not been completed."
                            )));
                        }
                        Some('\\') => {
                            if let Some(n) = chars.get(i + 1) {
                                s.push(*n);
                            }
                            i += 2;
                        }
                        Some(ch) if *ch == quote => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(Token::Quoted(s));
            }
            '!' | '=' | '~' | '<' | '>' => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                let op = match two.as_str() {
                    "!=" => "!=",
                    "!~" => "!~",
                    ">=" => ">=",
                    "<=" => "<=",
                    _ => match c {
                        '=' => "=",
                        '~' => "~",
                        '<' => "<",
                        '>' => ">",
                        _ => {
                            return Err(jql_error(format!(
                                "Error in the JQL Query: The character '{c}' is a reserved JQL character."
                            )));
                        }
                    },
                };
                i += op.len();
                out.push(Token::Op(op));
            }
            _ => {
                let start = i;
                while i < chars.len() {
                    let ch = chars[i];
                    if ch.is_alphanumeric() || "_.-+[]:/@*".contains(ch) {
                        i += 1;
                    } else {
                        break;
                    }
                }
                if i == start {
                    return Err(jql_error(format!(
                        "Error in the JQL Query: The character '{c}' is a reserved JQL character."
                    )));
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

// ---- parser --------------------------------------------------------------------------------

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw))
    }
    fn keyword_at(&self, offset: usize, kw: &str) -> bool {
        matches!(self.tokens.get(self.pos + offset), Some(Token::Word(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn or_expr(&mut self) -> Result<Expr, JiraError> {
        let mut left = self.and_expr()?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.and_expr()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, JiraError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, JiraError> {
        if self.keyword("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            let e = self.or_expr()?;
            if self.next() != Some(Token::RParen) {
                return Err(jql_error(
                    "Error in the JQL Query: Expecting ')' before the end of the query.",
                ));
            }
            return Ok(e);
        }
        self.clause()
    }

    fn clause(&mut self) -> Result<Expr, JiraError> {
        let name = match self.next() {
            Some(Token::Word(w)) | Some(Token::Quoted(w)) => w,
            other => {
                return Err(jql_error(format!(
                    "Error in the JQL Query: Expecting a field name but got {}.",
                    describe(other.as_ref())
                )));
            }
        };
        let op = match self.next() {
            Some(Token::Op(o)) => match o {
                "=" => Op::Eq,
                "!=" => Op::Ne,
                "~" => Op::Like,
                "!~" => Op::NotLike,
                ">" => Op::Gt,
                ">=" => Op::Ge,
                "<" => Op::Lt,
                _ => Op::Le,
            },
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("in") => Op::In,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("is") => {
                if self.keyword("not") {
                    self.pos += 1;
                    Op::IsNot
                } else {
                    Op::Is
                }
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("not") && self.keyword("in") => {
                self.pos += 1;
                Op::NotIn
            }
            other => {
                return Err(jql_error(format!(
                    "Error in the JQL Query: Expecting operator but got {}.",
                    describe(other.as_ref())
                )));
            }
        };
        let operand = self.operand(op)?;
        Ok(Expr::Clause(Field::Custom(name), op, operand))
    }

    fn operand(&mut self, op: Op) -> Result<Operand, JiraError> {
        if matches!(op, Op::In | Op::NotIn) {
            if self.next() != Some(Token::LParen) {
                return Err(jql_error("Error in the JQL Query: Expecting '(' after IN."));
            }
            let mut values = Vec::new();
            loop {
                match self.next() {
                    Some(Token::Word(w)) | Some(Token::Quoted(w)) => values.push(w),
                    other => {
                        return Err(jql_error(format!(
                            "Error in the JQL Query: Expecting a value but got {}.",
                            describe(other.as_ref())
                        )));
                    }
                }
                match self.next() {
                    Some(Token::Comma) => continue,
                    Some(Token::RParen) => break,
                    _ => return Err(jql_error("Error in the JQL Query: Expecting ')' or ','.")),
                }
            }
            return Ok(Operand::List(values));
        }
        match self.next() {
            Some(Token::Quoted(s)) => Ok(Operand::Value(s)),
            Some(Token::Word(w)) => {
                if self.peek() == Some(&Token::LParen)
                    && self.tokens.get(self.pos + 1) == Some(&Token::RParen)
                {
                    self.pos += 2;
                    return match w.to_ascii_lowercase().as_str() {
                        "currentuser" => Ok(Operand::CurrentUser),
                        "now" => Ok(Operand::Now),
                        _ => Err(jql_error(format!(
                            "Error in the JQL Query: Unable to find JQL function '{w}()'."
                        ))),
                    };
                }
                if w.eq_ignore_ascii_case("empty") || w.eq_ignore_ascii_case("null") {
                    return Ok(Operand::Empty);
                }
                Ok(Operand::Value(w))
            }
            other => Err(jql_error(format!(
                "Error in the JQL Query: Expecting either a value, list or function but got {}.",
                describe(other.as_ref())
            ))),
        }
    }
}

fn describe(t: Option<&Token>) -> String {
    match t {
        None => "end of query".into(),
        Some(Token::Word(w)) => format!("'{w}'"),
        Some(Token::Quoted(w)) => format!("'\"{w}\"'"),
        Some(Token::Op(o)) => format!("'{o}'"),
        Some(Token::LParen) => "'('".into(),
        Some(Token::RParen) => "')'".into(),
        Some(Token::Comma) => "','".into(),
    }
}

/// Parses JQL syntax (field names are resolved later, against a site, by [`Query::resolve`]).
pub fn parse(input: &str) -> Result<Query, JiraError> {
    let mut p = Parser {
        tokens: lex(input)?,
        pos: 0,
    };
    let mut filter = None;
    let only_order_by = p.keyword("order") && p.keyword_at(1, "by");
    if !p.tokens.is_empty() && !only_order_by {
        filter = Some(p.or_expr()?);
    }
    let mut order = Vec::new();
    if p.keyword("order") && p.keyword_at(1, "by") {
        p.pos += 2;
        loop {
            let field = match p.next() {
                Some(Token::Word(w)) | Some(Token::Quoted(w)) => w,
                other => {
                    return Err(jql_error(format!(
                        "Error in the JQL Query: Expecting a field name in ORDER BY but got {}.",
                        describe(other.as_ref())
                    )));
                }
            };
            let mut ascending = true;
            if p.keyword("asc") {
                p.pos += 1;
            } else if p.keyword("desc") {
                p.pos += 1;
                ascending = false;
            }
            order.push((Field::Custom(field), ascending));
            if p.peek() == Some(&Token::Comma) {
                p.pos += 1;
                continue;
            }
            break;
        }
    }
    if let Some(t) = p.peek() {
        return Err(jql_error(format!(
            "Error in the JQL Query: Expecting end of query but got {}.",
            describe(Some(t))
        )));
    }
    Ok(Query { filter, order })
}

/// Parses and resolves field names and values against `state`, failing as Jira does on
/// unknown fields, projects, statuses and issue keys.
pub fn compile(input: &str, state: &State) -> Result<Query, JiraError> {
    let mut q = parse(input)?;
    if let Some(f) = q.filter.take() {
        q.filter = Some(resolve_expr(f, state)?);
    }
    for (field, _) in &mut q.order {
        if let Field::Custom(name) = field {
            *field = resolve_field(name, state)?;
        }
    }
    Ok(q)
}

fn resolve_expr(e: Expr, state: &State) -> Result<Expr, JiraError> {
    Ok(match e {
        Expr::And(a, b) => Expr::And(
            Box::new(resolve_expr(*a, state)?),
            Box::new(resolve_expr(*b, state)?),
        ),
        Expr::Or(a, b) => Expr::Or(
            Box::new(resolve_expr(*a, state)?),
            Box::new(resolve_expr(*b, state)?),
        ),
        Expr::Not(a) => Expr::Not(Box::new(resolve_expr(*a, state)?)),
        Expr::Clause(Field::Custom(name), op, operand) => {
            let field = resolve_field(&name, state)?;
            check_values(&field, &name, &operand, state)?;
            Expr::Clause(field, op, operand)
        }
        clause => clause,
    })
}

fn unknown_field(name: &str) -> JiraError {
    jql_error(format!(
        "Field '{name}' does not exist or you do not have permission to view it."
    ))
}

fn resolve_field(name: &str, state: &State) -> Result<Field, JiraError> {
    let lower = name.to_ascii_lowercase();
    let field = match lower.as_str() {
        "project" => Field::Project,
        "key" | "issuekey" | "issue" => Field::Key,
        "id" => Field::Id,
        "labels" | "label" => Field::Labels,
        "status" => Field::Status,
        "statuscategory" => Field::StatusCategory,
        "summary" => Field::Summary,
        "description" => Field::Description,
        "text" => Field::Text,
        "issuetype" | "type" => Field::IssueType,
        "priority" => Field::Priority,
        "resolution" => Field::Resolution,
        "assignee" => Field::Assignee,
        "reporter" => Field::Reporter,
        "creator" => Field::Creator,
        "created" | "createddate" => Field::Created,
        "updated" | "updateddate" => Field::Updated,
        "resolved" | "resolutiondate" => Field::Resolved,
        _ => {
            if let Some(digits) = lower.strip_prefix("cf[").and_then(|r| r.strip_suffix(']')) {
                let id = format!("customfield_{digits}");
                return state
                    .site
                    .custom_field(&id)
                    .map(|_| Field::Custom(id))
                    .ok_or_else(|| unknown_field(name));
            }
            if let Some(rest) = name.strip_prefix("issue.property[") {
                let (key, path) = rest.split_once(']').ok_or_else(|| unknown_field(name))?;
                if !state.site.indexed_properties.iter().any(|k| k == key) {
                    return Err(unknown_field(name));
                }
                let path = path
                    .trim_start_matches('.')
                    .split('.')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect();
                return Ok(Field::Property(key.to_owned(), path));
            }
            // Custom fields by their name; `customfield_NNNNN` is not JQL.
            return state
                .site
                .custom_fields
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(name))
                .map(|c| Field::Custom(c.id.clone()))
                .ok_or_else(|| unknown_field(name));
        }
    };
    Ok(field)
}

fn operand_values(operand: &Operand) -> Vec<&str> {
    match operand {
        Operand::Value(v) => vec![v.as_str()],
        Operand::List(vs) => vs.iter().map(String::as_str).collect(),
        _ => Vec::new(),
    }
}

fn check_values(
    field: &Field,
    name: &str,
    operand: &Operand,
    state: &State,
) -> Result<(), JiraError> {
    let missing = |v: &str| {
        jql_error(format!(
            "The value '{v}' does not exist for the field '{name}'."
        ))
    };
    for v in operand_values(operand) {
        let known = match field {
            Field::Project => state.site.project_ci(v).is_some(),
            Field::Status => state
                .site
                .all_statuses()
                .iter()
                .any(|s| s.id == v || s.name.eq_ignore_ascii_case(v)),
            Field::Key => {
                if state.issue(v).is_none() {
                    return Err(jql_error(format!(
                        "An issue with key '{v}' does not exist for field '{name}'."
                    )));
                }
                true
            }
            _ => true,
        };
        if !known {
            return Err(missing(v));
        }
    }
    Ok(())
}

// ---- evaluation ----------------------------------------------------------------------------

impl Query {
    /// True when the query has no restriction (Cloud's enhanced search refuses those).
    pub fn is_unbounded(&self) -> bool {
        self.filter.is_none()
    }

    /// Evaluates against `issue`; fields that were never resolved (a query parsed but not
    /// compiled) are resolved on the fly, unknown ones match nothing.
    pub fn matches(&self, state: &State, issue: &Issue, current_user: Option<&str>) -> bool {
        match &self.filter {
            None => true,
            Some(e) => eval(e, state, issue, current_user),
        }
    }

    /// Sorts by the ORDER BY clause, or newest first by creation.
    pub fn sort(&self, state: &State, issues: &mut [&Issue]) {
        let order = if self.order.is_empty() {
            vec![(Field::Created, false)]
        } else {
            self.order.clone()
        };
        issues.sort_by(|a, b| {
            for (field, ascending) in &order {
                let o = compare_for_sort(field, state, a, b);
                let o = if *ascending { o } else { o.reverse() };
                if o != Ordering::Equal {
                    return o;
                }
            }
            let id = |i: &Issue| i.id.parse::<u64>().unwrap_or(0);
            id(b).cmp(&id(a))
        });
    }
}

fn compare_for_sort(field: &Field, state: &State, a: &Issue, b: &Issue) -> Ordering {
    match field {
        Field::Key | Field::Id => key_order(a).cmp(&key_order(b)),
        Field::Created => a.created.cmp(&b.created),
        Field::Updated => a.updated.cmp(&b.updated),
        Field::Summary => a.summary.to_lowercase().cmp(&b.summary.to_lowercase()),
        Field::Priority => {
            let rank = |i: &Issue| {
                i.priority_id
                    .as_ref()
                    .and_then(|p| state.site.priorities.iter().position(|x| x.id == *p))
                    .unwrap_or(usize::MAX)
            };
            rank(a).cmp(&rank(b))
        }
        Field::Status => state
            .status_name(&a.status_id)
            .cmp(&state.status_name(&b.status_id)),
        _ => Ordering::Equal,
    }
}

fn key_order(i: &Issue) -> (String, u64) {
    let (p, n) = i.key.rsplit_once('-').unwrap_or((&i.key, "0"));
    (p.to_owned(), n.parse().unwrap_or(0))
}

fn eval(e: &Expr, state: &State, issue: &Issue, me: Option<&str>) -> bool {
    match e {
        Expr::And(a, b) => eval(a, state, issue, me) && eval(b, state, issue, me),
        Expr::Or(a, b) => eval(a, state, issue, me) || eval(b, state, issue, me),
        Expr::Not(a) => !eval(a, state, issue, me),
        Expr::Clause(field, op, operand) => {
            let field = match field {
                Field::Custom(name) if !name.starts_with("customfield_") => {
                    match resolve_field(name, state) {
                        Ok(f) => f,
                        Err(_) => return false,
                    }
                }
                f => f.clone(),
            };
            clause(&field, *op, operand, state, issue, me)
        }
    }
}

/// The issue's values for `field`, as the strings JQL compares against (ids and names).
fn values_of(field: &Field, state: &State, issue: &Issue) -> Vec<String> {
    let user = |id: &str| -> Vec<String> {
        match state.account(id) {
            Some(a) => vec![
                a.account_id.clone(),
                a.name.clone(),
                a.email.clone(),
                a.display_name.clone(),
            ],
            None => vec![id.to_owned()],
        }
    };
    match field {
        Field::Project => {
            let p = state.site.project(&issue.project_key);
            p.map(|p| vec![p.key.clone(), p.id.clone(), p.name.clone()])
                .unwrap_or_default()
        }
        Field::Key => vec![issue.key.clone()],
        Field::Id => vec![issue.id.clone()],
        Field::Labels => issue.labels.clone(),
        Field::Status => {
            vec![issue.status_id.clone(), state.status_name(&issue.status_id)]
        }
        Field::StatusCategory => state
            .site
            .status(&issue.status_id)
            .map(|s| {
                let c = s.category;
                vec![c.key().to_owned(), c.name().to_owned(), c.id().to_string()]
            })
            .unwrap_or_default(),
        Field::Summary => vec![issue.summary.clone()],
        Field::Description => issue.description.iter().map(RichText::to_text).collect(),
        Field::Text => {
            let mut v = vec![issue.summary.clone()];
            v.extend(issue.description.iter().map(RichText::to_text));
            v.extend(state.comments_of(issue).iter().map(|c| c.body.to_text()));
            v
        }
        Field::IssueType => state
            .site
            .issue_type(&issue.issue_type_id)
            .map(|t| vec![t.id.clone(), t.name.clone()])
            .unwrap_or_default(),
        Field::Priority => issue
            .priority_id
            .as_ref()
            .and_then(|p| state.site.priority(p))
            .map(|p| vec![p.id.clone(), p.name.clone()])
            .unwrap_or_default(),
        Field::Resolution => issue
            .resolution_id
            .as_ref()
            .and_then(|r| state.site.resolution(r))
            .map(|r| vec![r.id.clone(), r.name.clone()])
            .unwrap_or_default(),
        Field::Assignee => issue.assignee.as_deref().map(user).unwrap_or_default(),
        Field::Reporter => user(&issue.reporter),
        Field::Creator => user(&issue.creator),
        Field::Created | Field::Updated | Field::Resolved => Vec::new(),
        Field::Custom(id) => match issue.custom_fields.get(id) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items.iter().map(json_text).collect(),
            Some(v) if crate::adf::looks_like_document(v) => vec![crate::adf::to_text(v)],
            Some(v) => vec![json_text(v)],
        },
        Field::Property(key, path) => {
            let mut v = match issue.properties.get(key) {
                Some(v) => v,
                None => return Vec::new(),
            };
            for step in path {
                match v.get(step) {
                    Some(next) => v = next,
                    None => return Vec::new(),
                }
            }
            match v {
                Value::Null => Vec::new(),
                Value::Array(items) => items.iter().map(json_text).collect(),
                other => vec![json_text(other)],
            }
        }
    }
}

fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("value")
            .or_else(|| o.get("name"))
            .map(json_text)
            .unwrap_or_else(|| v.to_string()),
        other => other.to_string(),
    }
}

fn date_of(field: &Field, issue: &Issue) -> Option<OffsetDateTime> {
    match field {
        Field::Created => Some(issue.created),
        Field::Updated => Some(issue.updated),
        Field::Resolved => issue.resolution_date,
        _ => None,
    }
}

/// JQL date values: `2026-11-26`, `2026/11/26 14:05`, relative `-1d`, `-3h`, `-15m`, `-2w`.
fn parse_date(value: &str) -> Option<OffsetDateTime> {
    let v = value.trim();
    if let Some(rel) = relative(v) {
        return Some(OffsetDateTime::now_utc() + rel);
    }
    let normalized = v.replace('/', "-");
    let date_time = format_description!("[year]-[month]-[day] [hour]:[minute]");
    let date_only = format_description!("[year]-[month]-[day]");
    if let Ok(dt) = PrimitiveDateTime::parse(&normalized, date_time) {
        return Some(dt.assume_utc());
    }
    if let Ok(d) = Date::parse(&normalized, date_only) {
        return Some(PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc());
    }
    None
}

fn relative(v: &str) -> Option<time::Duration> {
    let (sign, rest) = match v.strip_prefix('-') {
        Some(r) => (-1i64, r),
        None => (1, v.strip_prefix('+').unwrap_or(v)),
    };
    let unit = rest.chars().last()?;
    let n: i64 = rest[..rest.len() - unit.len_utf8()].parse().ok()?;
    let d = match unit {
        'm' => time::Duration::minutes(n),
        'h' => time::Duration::hours(n),
        'd' => time::Duration::days(n),
        'w' => time::Duration::weeks(n),
        _ => return None,
    };
    Some(d * sign as i32)
}

fn clause(
    field: &Field,
    op: Op,
    operand: &Operand,
    state: &State,
    issue: &Issue,
    me: Option<&str>,
) -> bool {
    if matches!(field, Field::Created | Field::Updated | Field::Resolved) {
        let actual = date_of(field, issue);
        if matches!(op, Op::Is | Op::IsNot) {
            return (actual.is_none()) == (op == Op::Is);
        }
        let wanted = match operand {
            Operand::Now => Some(OffsetDateTime::now_utc()),
            Operand::Value(v) => parse_date(v),
            _ => None,
        };
        let (Some(actual), Some(wanted)) = (actual, wanted) else {
            return false;
        };
        return compare(op, actual.cmp(&wanted));
    }
    let values = values_of(field, state, issue);
    let wanted: Vec<String> = match operand {
        Operand::CurrentUser => me.map(|m| vec![m.to_owned()]).unwrap_or_default(),
        other => operand_values(other)
            .into_iter()
            .map(str::to_owned)
            .collect(),
    };
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let any_eq = || values.iter().any(|v| wanted.iter().any(|w| eq(v, w)));
    match op {
        Op::Is => values.is_empty(),
        Op::IsNot => !values.is_empty(),
        Op::Eq | Op::In => any_eq(),
        // Jira leaves issues without a value out of `!=` and `NOT IN`.
        Op::Ne | Op::NotIn => !values.is_empty() && !any_eq(),
        Op::Like | Op::NotLike => {
            let hit = wanted.iter().any(|w| {
                let terms: Vec<String> = w
                    .split_whitespace()
                    .map(|t| t.trim_matches('*').to_lowercase())
                    .collect();
                values.iter().any(|v| {
                    let v = v.to_lowercase();
                    terms.iter().all(|t| v.contains(t.as_str()))
                })
            });
            if op == Op::Like {
                hit
            } else {
                !values.is_empty() && !hit
            }
        }
        Op::Gt | Op::Ge | Op::Lt | Op::Le => {
            let Some(w) = wanted.first() else {
                return false;
            };
            values
                .iter()
                .any(|v| match (field, v.parse::<f64>(), w.parse::<f64>()) {
                    (Field::Key, _, _) => {
                        let (pa, na) = split_key(v);
                        let (pb, nb) = split_key(w);
                        pa.eq_ignore_ascii_case(pb) && compare(op, na.cmp(&nb))
                    }
                    (_, Ok(a), Ok(b)) => a.partial_cmp(&b).is_some_and(|o| compare(op, o)),
                    _ => compare(op, v.as_str().cmp(w.as_str())),
                })
        }
    }
}

fn split_key(k: &str) -> (&str, u64) {
    let (p, n) = k.rsplit_once('-').unwrap_or((k, "0"));
    (p, n.parse().unwrap_or(0))
}

fn compare(op: Op, o: Ordering) -> bool {
    match op {
        Op::Eq | Op::In | Op::Is => o == Ordering::Equal,
        Op::Ne | Op::NotIn | Op::IsNot => o != Ordering::Equal,
        Op::Gt => o == Ordering::Greater,
        Op::Ge => o != Ordering::Less,
        Op::Lt => o == Ordering::Less,
        Op::Le => o != Ordering::Greater,
        Op::Like | Op::NotLike => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_common_forms() {
        let q = parse(r#"project = SEC AND labels = "aws-sir-123" ORDER BY created DESC"#).unwrap();
        assert!(q.filter.is_some());
        assert_eq!(q.order.len(), 1);
        assert!(parse("key in (SEC-1, SEC-2) OR NOT (status = Done)").is_ok());
        assert!(parse("labels is not EMPTY and assignee = currentUser()").is_ok());
        assert!(parse("updated >= -1d").is_ok());
        assert!(parse("cf[10050] ~ 'arn:aws'").is_ok());
        assert!(parse("ORDER BY key").unwrap().is_unbounded());
    }

    #[test]
    fn refuses_broken_queries() {
        for bad in [
            "project =",
            "project = SEC AND",
            "(project = SEC",
            "labels in a",
            "project = 'SEC",
            "x = y z",
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST, "{bad}");
            assert!(err.messages[0].contains("JQL"), "{bad}: {err}");
        }
    }

    #[test]
    fn dates_parse() {
        assert!(parse_date("2026-11-26").is_some());
        assert!(parse_date("2026/11/26 14:05").is_some());
        assert!(parse_date("-2h").unwrap() < OffsetDateTime::now_utc());
        assert!(parse_date("tomorrow").is_none());
    }
}

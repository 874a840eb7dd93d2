//! `GET /api/crm/leads/export/`: the leads `crm.leads.export` reaches, as
//! CSV, read a page at a time and written as the pages arrive.
//!
//! A response holds at most [`MAX_ROWS`] leads (Lambda answers at most 6 MB);
//! when more match, a `Link: <...>; rel="next"` header continues the export
//! where it stopped, with the same filters.

use super::read::{leads_page, LeadFilters};
use crate::records::LeadRecord;
use crate::AppState;
use axum::extract::State;
use axum::http::header::{HeaderValue, CONTENT_DISPOSITION, CONTENT_TYPE, LINK};
use axum::response::{IntoResponse, Response};
use shared::auth::{CrmLeadsExport, Require};
use shared::http::schema::{BadRequestBody, ErrorBody};
use shared::http::{ApiError, ListQuery, PageQuery};
use shared::money::format_money;
use shared::permissions::actions;
use shared::store::Page;

/// Leads read per query.
const PAGE: u16 = 100;
/// Leads per response.
pub const MAX_ROWS: usize = 5000;

const HEADER: [&str; 17] = [
    "id",
    "name",
    "email",
    "phone",
    "company",
    "status",
    "value",
    "currency",
    "source",
    "notes",
    "tags",
    "owner_id",
    "owner_email",
    "team_id",
    "created_by",
    "created_at",
    "updated_at",
];

/// One CSV field: quoted when it holds a separator, quote or line break,
/// and defused when a spreadsheet would read it as a formula.
fn field(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

fn row(out: &mut String, lead: &LeadRecord) {
    let time = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let cells = [
        lead.id.to_string(),
        lead.name.clone(),
        opt(&lead.email),
        opt(&lead.phone),
        opt(&lead.company),
        lead.status.as_str().to_owned(),
        format_money(lead.value),
        lead.currency.clone(),
        opt(&lead.source),
        opt(&lead.notes),
        lead.tags.join(";"),
        lead.owner_id.to_string(),
        lead.owner_email.clone(),
        lead.team_id.map(|t| t.to_string()).unwrap_or_default(),
        lead.created_by.to_string(),
        time(lead.created_at),
        time(lead.updated_at),
    ];
    let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

/// Export leads as CSV.
#[utoipa::path(
    get,
    path = "/api/crm/leads/export/",
    tag = "crm",
    description = "Permission: `crm.leads.export`, whose scope decides the rows exactly as `crm.leads.view` does for the list \
        (own, team, all). Same filters and ordering as the list. `text/csv` (RFC 4180, CRLF), one header row; tags joined \
        by `;`; cells a spreadsheet would read as a formula are prefixed with `'`. At most 5,000 leads per response, read \
        100 per query; when more match, `Link: <url>; rel=\"next\"` continues. The tenant must have the `crm` module. `X-Tenant-Id` moves only super admins, who hold every grant at scope `all`.",
    params(
        ("status" = Option<crate::records::LeadStatus>, Query, description = "Only leads in this status"),
        ("owner" = Option<uuid::Uuid>, Query, description = "Only leads of this owner"),
        ("team" = Option<uuid::Uuid>, Query, description = "Only leads of this team"),
        ("tag" = Option<String>, Query, max_length = 50, pattern = r"\S", description = "Only leads with this tag"),
        ("search" = Option<String>, Query, max_length = 100, pattern = r"^$|\S", description = "Case-insensitive prefix of the name, email or company"),
        ("ordering" = inline(Option<super::read::LeadOrdering>), Query, description = "As the list"),
        ("cursor" = Option<String>, Query, description = "Where to continue: from the `Link` header of the previous part"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The leads as CSV", content_type = "text/csv", body = String,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when more leads match"))),
        (status = 400, description = "Invalid or unknown filter, or an ordering the caller's scope cannot serve", body = BadRequestBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Lacks `crm.leads.export`; `module_disabled`", body = ErrorBody),
        (status = 404, description = "Invalid cursor, or `X-Tenant-Id` names another tenant and the caller is no super admin", body = ErrorBody),
    ),
)]
pub(crate) async fn export_leads(
    State(state): State<AppState>,
    Require(actor, _): Require<CrmLeadsExport>,
    ListQuery(filters): ListQuery<LeadFilters>,
    page: PageQuery,
) -> Result<Response, ApiError> {
    let mut out = HEADER.join(",");
    out.push_str("\r\n");
    let mut cursor = page.cursor.clone();
    let mut rows = 0;
    let next = loop {
        let want = u16::try_from(MAX_ROWS - rows).unwrap_or(PAGE).min(PAGE);
        let Page { items, next, .. } = leads_page(
            &state,
            &actor,
            actions::CRM_LEADS_EXPORT,
            &filters,
            want,
            cursor.take(),
        )
        .await?;
        rows += items.len();
        for lead in &items {
            row(&mut out, lead);
        }
        match next {
            Some(next) if rows < MAX_ROWS => cursor = Some(next),
            next => break next,
        }
    };
    let mut response = out.into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"leads.csv\""),
    );
    if let Some(next) = next {
        // The link the list would give, as a header.
        let continued = Page::<()> {
            items: Vec::new(),
            next: Some(next),
            previous: None,
        };
        if let Some(url) = page.respond(continued, |()| ()).next {
            if let Ok(v) = HeaderValue::from_str(&format!("<{url}>; rel=\"next\"")) {
                headers.insert(LINK, v);
            }
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("Acme"), "Acme");
        assert_eq!(field("Acme, Inc."), "\"Acme, Inc.\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("+1 555"), "'+1 555");
        assert_eq!(field("@cmd"), "'@cmd");
    }
}

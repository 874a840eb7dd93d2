//! Money on the wire: exact decimals as strings with two decimals
//! (`"49.00"`), never JSON floats.

use rust_decimal::Decimal;
use serde_json::Value;
use std::str::FromStr;

/// Largest accepted amount's integer digits.
const MAX_INTEGER_DIGITS: usize = 10;

/// `"49.00"`: always two decimals.
pub fn format_money(amount: Decimal) -> String {
    let mut d = amount.round_dp(2);
    d.rescale(2);
    d.to_string()
}

/// Reads an amount sent as a string (`"49"`, `"49.5"`, `"49.00"`) or a
/// whole JSON number; refuses floats, negatives, more than two decimals and
/// anything else with a message for the field.
pub fn parse_money(value: &Value) -> Result<Decimal, String> {
    const SHAPE: &str = "Enter an amount as a string with at most two decimals, e.g. \"49.00\".";
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) if n.is_u64() => n.to_string(),
        Value::Number(n) if n.is_i64() => {
            return Err("Ensure this value is greater than or equal to 0.".into())
        }
        Value::Number(_) => {
            return Err(format!(
                "Floating-point numbers are not accepted for money. {SHAPE}"
            ))
        }
        _ => return Err(SHAPE.into()),
    };
    if text.starts_with('-') {
        return Err("Ensure this value is greater than or equal to 0.".into());
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !digits(whole)
        || !digits(fraction)
        || (text.contains('.') && fraction.is_empty())
    {
        return Err(SHAPE.into());
    }
    if fraction.len() > 2 {
        return Err("Ensure that there are no more than 2 decimal places.".into());
    }
    if whole.trim_start_matches('0').len() > MAX_INTEGER_DIGITS {
        return Err(format!("Ensure that there are no more than {MAX_INTEGER_DIGITS} digits before the decimal point."));
    }
    let mut amount = Decimal::from_str(&text).map_err(|_| SHAPE.to_owned())?;
    amount.rescale(2);
    Ok(amount)
}

/// The schema of an amount as [`parse_money`] takes it: a string with at
/// most two decimals, or a whole number, of at most 10 integer digits.
pub fn money_input() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::Schema::AnyOf(money_any_of())
}

fn money_any_of() -> utoipa::openapi::schema::AnyOf {
    use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
    AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^\s*0*[0-9]{1,10}(\.[0-9]{1,2})?\s*$"))
                .examples(["49.00"]),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(Some(9_999_999_999_u64)),
        )
        .description(Some(
            "A string with at most two decimals (`\"49.00\"`) or a whole number; floats are refused.",
        ))
        .build()
}

/// [`money_input`], or null to leave the amount as it is (`PATCH`).
pub fn money_patch() -> utoipa::openapi::schema::Schema {
    let mut schema = money_any_of();
    schema.items.push(
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Null)
            .into(),
    );
    utoipa::openapi::schema::Schema::AnyOf(schema)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_with_two_decimals() {
        assert_eq!(format_money(Decimal::new(49, 0)), "49.00");
        assert_eq!(format_money(Decimal::new(4950, 2)), "49.50");
        assert_eq!(format_money(Decimal::ZERO), "0.00");
    }

    #[test]
    fn accepts_exact_amounts() {
        assert_eq!(parse_money(&json!("49.00")).unwrap(), Decimal::new(4900, 2));
        assert_eq!(parse_money(&json!("49.5")).unwrap(), Decimal::new(4950, 2));
        assert_eq!(parse_money(&json!(49)).unwrap(), Decimal::new(4900, 2));
        assert_eq!(format_money(parse_money(&json!("0")).unwrap()), "0.00");
    }

    #[test]
    fn refuses_floats_negatives_and_extra_decimals() {
        for bad in [
            json!(49.5),
            json!(49.0),
            json!("-1.00"),
            json!(-1),
            json!("1.005"),
            json!("abc"),
            json!("1."),
            json!(".5"),
            json!(null),
            json!("1e3"),
            json!("99999999999.00"),
        ] {
            assert!(parse_money(&bad).is_err(), "{bad}");
        }
    }
}

//! The table's shape, read from the `AWS::DynamoDB::Table` resource of
//! `template.yaml`, so local creation and tests use exactly what is deployed.

use super::error::classify;
use super::StoreError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDefinition {
    pub name: String,
    pub hash_key: String,
    pub range_key: Option<String>,
    pub projection: String,
}

/// The parts of a table definition that code depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    /// Attribute name → type (`S`, `N`, `B`).
    pub attributes: BTreeMap<String, String>,
    pub hash_key: String,
    pub range_key: Option<String>,
    pub indexes: Vec<IndexDefinition>,
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("template has {0} AWS::DynamoDB::Table resources; expected exactly one")]
    TableCount(usize),
    #[error("table definition: {0}")]
    Invalid(String),
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a Value, TemplateError> {
    v.get(name)
        .ok_or_else(|| TemplateError::Invalid(format!("missing {name}")))
}

fn string(v: &Value, name: &str) -> Result<String, TemplateError> {
    field(v, name)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| TemplateError::Invalid(format!("{name} is not a string")))
}

fn key_schema(v: &Value) -> Result<(String, Option<String>), TemplateError> {
    let elements = field(v, "KeySchema")?
        .as_sequence()
        .ok_or_else(|| TemplateError::Invalid("KeySchema is not a list".into()))?;
    let mut hash = None;
    let mut range = None;
    for e in elements {
        let name = string(e, "AttributeName")?;
        match string(e, "KeyType")?.as_str() {
            "HASH" => hash = Some(name),
            "RANGE" => range = Some(name),
            other => return Err(TemplateError::Invalid(format!("unknown KeyType {other}"))),
        }
    }
    let hash = hash.ok_or_else(|| TemplateError::Invalid("no HASH key".into()))?;
    Ok((hash, range))
}

impl TableDefinition {
    /// Reads the single table resource of a SAM/CloudFormation template.
    pub fn from_template(yaml: &str) -> Result<Self, TemplateError> {
        let doc: Value = serde_yaml_ng::from_str(yaml)?;
        let resources = field(&doc, "Resources")?
            .as_mapping()
            .ok_or_else(|| TemplateError::Invalid("Resources is not a map".into()))?;
        let tables: Vec<&Value> = resources
            .values()
            .filter(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::DynamoDB::Table"))
            .collect();
        let [table] = tables.as_slice() else {
            return Err(TemplateError::TableCount(tables.len()));
        };
        let props = field(table, "Properties")?;
        let mut attributes = BTreeMap::new();
        for a in field(props, "AttributeDefinitions")?
            .as_sequence()
            .ok_or_else(|| TemplateError::Invalid("AttributeDefinitions is not a list".into()))?
        {
            attributes.insert(string(a, "AttributeName")?, string(a, "AttributeType")?);
        }
        let (hash_key, range_key) = key_schema(props)?;
        let mut indexes = Vec::new();
        if let Some(gsis) = props
            .get("GlobalSecondaryIndexes")
            .and_then(Value::as_sequence)
        {
            for g in gsis {
                let (hash_key, range_key) = key_schema(g)?;
                indexes.push(IndexDefinition {
                    name: string(g, "IndexName")?,
                    hash_key,
                    range_key,
                    projection: string(field(g, "Projection")?, "ProjectionType")?,
                });
            }
        }
        indexes.sort_by(|a, b| a.name.cmp(&b.name));
        let ttl_attribute = match props.get("TimeToLiveSpecification") {
            Some(ttl) if ttl.get("Enabled").and_then(Value::as_bool) == Some(true) => {
                Some(string(ttl, "AttributeName")?)
            }
            _ => None,
        };
        Ok(Self {
            attributes,
            hash_key,
            range_key,
            indexes,
            ttl_attribute,
        })
    }

    /// The definition as DynamoDB reports it for an existing table.
    pub async fn describe(client: &Client, table: &str) -> Result<Self, StoreError> {
        let out = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(classify)?;
        let t = out
            .table
            .ok_or_else(|| StoreError::Backend("no table description".into()))?;
        let shape = Self::shape_of(&t);
        let ttl = client
            .describe_time_to_live()
            .table_name(table)
            .send()
            .await
            .map_err(classify)?;
        let ttl_attribute = ttl
            .time_to_live_description()
            .filter(|d| {
                matches!(
                    d.time_to_live_status(),
                    Some(aws_sdk_dynamodb::types::TimeToLiveStatus::Enabled)
                        | Some(aws_sdk_dynamodb::types::TimeToLiveStatus::Enabling)
                )
            })
            .and_then(|d| d.attribute_name().map(str::to_owned));
        Ok(Self {
            ttl_attribute,
            ..shape
        })
    }

    /// Keys, attributes and indexes of a `DescribeTable` answer (TTL is
    /// described by a separate call and left `None`).
    pub fn shape_of(t: &aws_sdk_dynamodb::types::TableDescription) -> Self {
        let keys = |schema: &[KeySchemaElement]| {
            let hash = schema
                .iter()
                .find(|k| k.key_type == KeyType::Hash)
                .map(|k| k.attribute_name.clone());
            let range = schema
                .iter()
                .find(|k| k.key_type == KeyType::Range)
                .map(|k| k.attribute_name.clone());
            (hash.unwrap_or_default(), range)
        };
        let (hash_key, range_key) = keys(t.key_schema());
        let attributes = t
            .attribute_definitions()
            .iter()
            .map(|a| {
                (
                    a.attribute_name.clone(),
                    a.attribute_type.as_str().to_owned(),
                )
            })
            .collect();
        let mut indexes: Vec<IndexDefinition> = t
            .global_secondary_indexes()
            .iter()
            .map(|g| {
                let (hash_key, range_key) = keys(g.key_schema());
                IndexDefinition {
                    name: g.index_name().unwrap_or_default().to_owned(),
                    hash_key,
                    range_key,
                    projection: g
                        .projection()
                        .and_then(|p| p.projection_type())
                        .map(|p| p.as_str().to_owned())
                        .unwrap_or_default(),
                }
            })
            .collect();
        indexes.sort_by(|a, b| a.name.cmp(&b.name));
        Self {
            attributes,
            hash_key,
            range_key,
            indexes,
            ttl_attribute: None,
        }
    }

    /// Creates the table (on-demand) and enables TTL. Returns false if it
    /// already existed.
    pub async fn create(&self, client: &Client, table: &str) -> Result<bool, StoreError> {
        let build_err = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Backend(e.into());
        let schema =
            |hash: &str, range: &Option<String>| -> Result<Vec<KeySchemaElement>, StoreError> {
                let mut s = vec![KeySchemaElement::builder()
                    .attribute_name(hash)
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(build_err)?];
                if let Some(range) = range {
                    s.push(
                        KeySchemaElement::builder()
                            .attribute_name(range)
                            .key_type(KeyType::Range)
                            .build()
                            .map_err(build_err)?,
                    );
                }
                Ok(s)
            };
        let mut req = client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(schema(&self.hash_key, &self.range_key)?));
        for (name, ty) in &self.attributes {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::from(ty.as_str()))
                    .build()
                    .map_err(build_err)?,
            );
        }
        for index in &self.indexes {
            req = req.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(&index.name)
                    .set_key_schema(Some(schema(&index.hash_key, &index.range_key)?))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::from(index.projection.as_str()))
                            .build(),
                    )
                    .build()
                    .map_err(build_err)?,
            );
        }
        match req.send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) =>
            {
                return Ok(false)
            }
            Err(e) => return Err(classify(e)),
        }
        if let Some(attr) = &self.ttl_attribute {
            client
                .update_time_to_live()
                .table_name(table)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attr)
                        .enabled(true)
                        .build()
                        .map_err(build_err)?,
                )
                .send()
                .await
                .map_err(classify)?;
        }
        Ok(true)
    }

    /// Adds the indexes of this definition that an existing table lacks
    /// (a table created by an older version of the template), one at a
    /// time as DynamoDB requires, waiting for each to become active.
    /// Returns their names.
    pub async fn add_missing_indexes(
        &self,
        client: &Client,
        table: &str,
    ) -> Result<Vec<String>, StoreError> {
        use aws_sdk_dynamodb::types::{
            CreateGlobalSecondaryIndexAction, GlobalSecondaryIndexUpdate, IndexStatus,
        };
        let build_err = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Backend(e.into());
        let existing = Self::describe(client, table).await?;
        let mut added = Vec::new();
        for index in self
            .indexes
            .iter()
            .filter(|i| !existing.indexes.iter().any(|e| e.name == i.name))
        {
            let mut key_schema = vec![KeySchemaElement::builder()
                .attribute_name(&index.hash_key)
                .key_type(KeyType::Hash)
                .build()
                .map_err(build_err)?];
            if let Some(range) = &index.range_key {
                key_schema.push(
                    KeySchemaElement::builder()
                        .attribute_name(range)
                        .key_type(KeyType::Range)
                        .build()
                        .map_err(build_err)?,
                );
            }
            let create = CreateGlobalSecondaryIndexAction::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_schema))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection.as_str()))
                        .build(),
                )
                .build()
                .map_err(build_err)?;
            let mut req = client
                .update_table()
                .table_name(table)
                .global_secondary_index_updates(
                    GlobalSecondaryIndexUpdate::builder().create(create).build(),
                );
            for name in std::iter::once(&index.hash_key).chain(index.range_key.as_ref()) {
                let ty = self.attributes.get(name).map(String::as_str).unwrap_or("S");
                req = req.attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(name)
                        .attribute_type(ScalarAttributeType::from(ty))
                        .build()
                        .map_err(build_err)?,
                );
            }
            req.send().await.map_err(classify)?;
            // Backfilling takes a while in AWS; DynamoDB Local is instant.
            for _ in 0..600 {
                let out = client
                    .describe_table()
                    .table_name(table)
                    .send()
                    .await
                    .map_err(classify)?;
                let active = out
                    .table()
                    .map(|t| t.global_secondary_indexes())
                    .unwrap_or_default()
                    .iter()
                    .any(|g| {
                        g.index_name() == Some(index.name.as_str())
                            && g.index_status() == Some(&IndexStatus::Active)
                    });
                if active {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            added.push(index.name.clone());
        }
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Environment:
        Variables:
          TABLE_NAME: !Ref Table
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-data"
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - { AttributeName: PK, AttributeType: S }
        - { AttributeName: SK, AttributeType: S }
        - { AttributeName: GSI1PK, AttributeType: S }
        - { AttributeName: GSI1SK, AttributeType: S }
      KeySchema:
        - { AttributeName: PK, KeyType: HASH }
        - { AttributeName: SK, KeyType: RANGE }
      GlobalSecondaryIndexes:
        - IndexName: GSI1
          KeySchema:
            - { AttributeName: GSI1PK, KeyType: HASH }
            - { AttributeName: GSI1SK, KeyType: RANGE }
          Projection: { ProjectionType: ALL }
      TimeToLiveSpecification:
        AttributeName: expires_at
        Enabled: true
"#;

    #[test]
    fn reads_the_table_resource_despite_intrinsic_tags() {
        let def = TableDefinition::from_template(TEMPLATE).unwrap();
        assert_eq!(def.hash_key, "PK");
        assert_eq!(def.range_key.as_deref(), Some("SK"));
        assert_eq!(def.attributes.len(), 4);
        assert_eq!(def.indexes[0].name, "GSI1");
        assert_eq!(def.indexes[0].range_key.as_deref(), Some("GSI1SK"));
        assert_eq!(def.ttl_attribute.as_deref(), Some("expires_at"));
    }

    #[test]
    fn refuses_templates_without_exactly_one_table() {
        let err = TableDefinition::from_template("Resources: {}").unwrap_err();
        assert!(matches!(err, TemplateError::TableCount(0)));
    }
}

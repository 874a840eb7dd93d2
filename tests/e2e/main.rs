//! End-to-end: real function binaries behind `cargo lambda watch`, over
//! HTTP, against DynamoDB Local. `make test` starts the stack and sets
//! `E2E_BASE_URL`.

use reqwest::StatusCode;

fn base() -> String {
    std::env::var("E2E_BASE_URL")
        .expect("E2E_BASE_URL is not set: run the tests with `make test`, which starts cargo lambda watch")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(300)).build().unwrap()
}

#[tokio::test]
async fn schema_and_swagger_ui_are_served_through_the_local_gateway() {
    let c = client();
    let res = c.get(format!("{}/api/schema/", base())).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key("x-request-id"));
    let doc: serde_json::Value = res.json().await.unwrap();
    assert!(doc["paths"]["/api/health/"].is_object());

    let res = c.get(format!("{}/api/docs/", base())).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("swagger-ui"));
}

#[tokio::test]
async fn health_reaches_dynamodb_local_through_the_function_binary() {
    let res = client().get(format!("{}/api/health", base())).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["dynamodb"], "ok");
}

#[tokio::test]
async fn errors_are_json_through_the_gateway() {
    let res = client().delete(format!("{}/api/health/", base())).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "method_not_allowed");
}

//! A hello-world that reads one DynamoDB item per event with the SDK's defaults: the client is
//! built during init, the connection opens on the first event.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::lambda_runtime::{self, Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_from_env().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = std::env::var("TABLE_NAME")?;
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| {
        let (client, table) = (&client, &table);
        async move {
            let item = client
                .get_item()
                .table_name(table)
                .key("PK", AttributeValue::S("hello".into()))
                .key("SK", AttributeValue::S("hello".into()))
                .send()
                .await?;
            Ok::<_, Error>(json!({ "statusCode": 200, "body": item.item.is_some().to_string() }))
        }
    }))
    .await
}

//! DynamoDB engine (being written)

//! Building the AWS SDK's configuration, as a function's init does once: from the environment
//! alone (what the Lambda binaries do, `shared::app::aws_sdk_config_from_environment`) against
//! aws-config's full chain (`aws_config::defaults(..).load()`: region and credential provider
//! chains, profile files), the SDK's default. The same environment for both.

use std::hint::black_box;

use aws_config::BehaviorVersion;
use criterion::{Criterion, criterion_group, criterion_main};

fn sdk_config(c: &mut Criterion) {
    // SAFETY: set before any thread that reads the environment starts.
    unsafe {
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "secret");
        std::env::set_var("AWS_SESSION_TOKEN", "token");
        std::env::set_var("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("sdk_config");
    group.bench_function("environment_only", |b| {
        b.iter(|| {
            let sdk = shared::app::aws_sdk_config_from_environment(|name| std::env::var(name).ok())
                .unwrap();
            black_box(aws_sdk_dynamodb::Client::new(&sdk))
        })
    });
    group.bench_function("aws_config_chain", |b| {
        b.iter(|| {
            let sdk = runtime.block_on(aws_config::defaults(BehaviorVersion::latest()).load());
            black_box(aws_sdk_dynamodb::Client::new(&sdk))
        })
    });
    group.finish();
}

criterion_group!(benches, sdk_config);
criterion_main!(benches);

//! Seal and unseal one item with a 4096-bit key (64 B and 64 KiB values), and seal a 1,000-document file
//! end to end (read, seal, write). `benches/run.sh` turns the results into ratios against `openssl speed`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sealant_core::keys::{self, DEFAULT_CERT_VALIDITY};
use sealant_core::manifest::{self, Format, Object};
use sealant_core::seal::{SealOptions, seal_all, seal_secret};

fn envelope(c: &mut Criterion) {
    let (key, cert) =
        keys::generate_key_and_cert(4096, time::OffsetDateTime::now_utc(), DEFAULT_CERT_VALIDITY).unwrap();
    let public = cert.public_key();
    let label = b"bench-namespace/bench-name";
    for size in [64usize, 64 * 1024] {
        let value = vec![0x5au8; size];
        let mut group = c.benchmark_group("seal_4096");
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::from_parameter(size), &value, |b, v| {
            b.iter(|| public.seal(black_box(label), black_box(v)).unwrap())
        });
        group.finish();
        let blob = public.seal(label, &value).unwrap();
        let mut group = c.benchmark_group("unseal_4096");
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::from_parameter(size), &blob, |b, blob| {
            b.iter(|| key.open(black_box(label), black_box(blob)).unwrap())
        });
        group.finish();
    }

    let mut file = String::new();
    for i in 0..1000 {
        file.push_str(&format!(
            "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: app{i}-db-credentials-prod\n  namespace: prod\n  labels: {{app: app{i}}}\ntype: Opaque\ndata:\n  password: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n"
        ));
    }
    let opts = SealOptions::default();
    let mut group = c.benchmark_group("seal_file_4096");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1000));
    // One core: parse, seal each document, write — the CLI's work without the threads.
    group.bench_function("1000_documents_one_core", |b| {
        b.iter(|| {
            let (_, objects) = manifest::read(black_box(&file)).unwrap();
            let sealed: Vec<_> = secrets(&objects)
                .into_iter()
                .map(|s| seal_secret(s, &cert, &opts).unwrap())
                .collect();
            manifest::write_sealed(&sealed, Format::Yaml)
        })
    });
    // All cores, as `sealant seal` does it.
    group.bench_function("1000_documents", |b| {
        b.iter(|| {
            let (_, objects) = manifest::read(black_box(&file)).unwrap();
            let sealed: Vec<_> = seal_all(&secrets(&objects), &cert, &opts)
                .into_iter()
                .map(Result::unwrap)
                .collect();
            manifest::write_sealed(&sealed, Format::Yaml)
        })
    });
    let (_, objects) = manifest::read(&file).unwrap();
    let sealed: Vec<_> = seal_all(&secrets(&objects), &cert, &opts)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    group.bench_function("read_only", |b| b.iter(|| manifest::read(black_box(&file)).unwrap()));
    group.bench_function("events_only", |b| {
        b.iter(|| {
            granit_parser::Parser::new_from_str(black_box(&file))
                .try_fold(0usize, |n, e| e.map(|_| n + 1))
                .unwrap()
        })
    });
    group.bench_function("index_only", |b| {
        b.iter(|| sealant_core::layout::index(black_box(&file)).unwrap())
    });
    group.bench_function("write_only", |b| {
        b.iter(|| manifest::write_sealed(black_box(&sealed), Format::Yaml))
    });
    group.finish();
}

fn secrets(objects: &[manifest::Located]) -> Vec<&sealant_core::Secret> {
    objects
        .iter()
        .map(|o| match &o.object {
            Object::Secret(s) => s.as_ref(),
            _ => unreachable!("the bench file holds Secrets only"),
        })
        .collect()
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = envelope }
criterion_main!(benches);

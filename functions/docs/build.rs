//! What the docs function serves, gzip-compressed into `OUT_DIR`: the
//! checked-in OpenAPI document (`openapi.json`), and Swagger UI's files,
//! taken from the zip that `utoipa-swagger-ui-vendored` carries: only those
//! the page loads. The whole distribution (source maps, other bundles)
//! would add 11 MB to the binary.

use std::io::{Read, Write};
use std::path::PathBuf;

/// What `index.html` loads (`swagger-initializer.js` is ours, in src/swagger.rs).
const FILES: &[&str] = &[
    "index.html",
    "index.css",
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "favicon-32x32.png",
    "favicon-16x16.png",
    "oauth2-redirect.html",
];

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(
        utoipa_swagger_ui_vendored::SWAGGER_UI_VENDORED,
    ))
    .expect("the vendored Swagger UI zip");
    let mut found = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).expect("a zip entry");
        let name = entry.name().to_owned();
        let Some((_, file)) = name.split_once("/dist/") else {
            continue;
        };
        if !FILES.contains(&file) {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("a readable zip entry");
        write_gzip(&out, file, &bytes);
        found.push(file.to_owned());
    }
    for file in FILES {
        assert!(
            found.iter().any(|f| f == file),
            "{file} is not in the Swagger UI zip"
        );
    }
    let document = std::fs::read("openapi.json").expect("functions/docs/openapi.json");
    write_gzip(&out, "openapi.json", &document);
    println!("cargo:rerun-if-changed=openapi.json");
    println!("cargo:rerun-if-changed=build.rs");
}

/// `OUT_DIR/<file>.gz`.
fn write_gzip(out: &std::path::Path, file: &str, bytes: &[u8]) {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).expect("gzip in memory");
    std::fs::write(
        out.join(format!("{file}.gz")),
        gz.finish().expect("gzip in memory"),
    )
    .expect("writing OUT_DIR");
}

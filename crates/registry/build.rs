//! Generates the registry's protobuf types from ../../proto with prost. protoc comes from the
//! protoc-bin-vendored crate unless PROTOC names one, so a build needs nothing installed.

fn main() {
    let protos = ["signed", "names", "versions", "package", "policy"].map(|p| format!("../../proto/{p}.proto"));
    for p in &protos {
        println!("cargo:rerun-if-changed={p}");
    }
    println!("cargo:rerun-if-env-changed=PROTOC");
    let mut config = prost_build::Config::new();
    if std::env::var_os("PROTOC").is_none() {
        config.protoc_executable(protoc_bin_vendored::protoc_bin_path().expect("a vendored protoc for this platform"));
    }
    config.compile_protos(&protos, &["../../proto"]).expect("compiling proto/");
}

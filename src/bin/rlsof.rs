fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(rnetstat::app::lsof::main(std::env::args_os()))
}

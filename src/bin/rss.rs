fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(rnetstat::app::ss::main(std::env::args_os()))
}

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(rnetstat::app::netstat::main(std::env::args_os()))
}

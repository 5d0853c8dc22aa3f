import Foundation
import SlawatchApp
import SlawatchDemo

// The demo's commands live in their own module, which the app does not depend on: registered here.
let status = await Slawatch.main(
    arguments: Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment,
    commands: [DemoCommand.command, PostgresCommand.command])
exit(status)

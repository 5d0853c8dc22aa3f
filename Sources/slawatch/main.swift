import Foundation
import SlawatchApp

let status = await Slawatch.main(arguments: Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
exit(status)

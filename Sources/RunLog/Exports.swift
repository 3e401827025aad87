@_exported import RunLogFormat

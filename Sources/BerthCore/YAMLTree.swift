import CYaml

/// Limits on what one `challenge.yml` may hold. They keep a hostile or broken file from taking
/// the server's memory or time: a YAML alias bomb ("billion laughs") expands to billions of
/// nodes from a few hundred bytes, so nodes are counted with every alias expanded.
public enum YAMLLimits {
    /// The largest file read, in bytes (1 MiB); real challenge files are a few KiB.
    public static let maximumDocumentBytes = 1 << 20
    /// The most nodes (scalars, lists and mappings, each alias counted as the nodes it repeats).
    public static let maximumNodes = 10_000
    /// The deepest nesting of lists and mappings.
    public static let maximumDepth = 64
}

/// A YAML scalar as written: its text, and whether it was plain (unquoted), which decides
/// whether `100`, `true` or `null` mean a number, a boolean or nothing.
struct YAMLScalar: Sendable, Equatable {
    var text: String
    var plain: Bool
    /// An explicit tag such as `!!str`, nil when none was written.
    var tag: String?
    /// 1-based line.
    var line: Int
}

/// One YAML node, composed from libyaml's events with aliases resolved. Unlike Yams' `load`,
/// which builds `[String: Any]` and traps on a key that is not text (`value: {{easy}}`), this
/// keeps every key as a node so the parser can say what is wrong with it.
indirect enum YAMLNode: Sendable {
    case scalar(YAMLScalar)
    case sequence([YAMLNode], line: Int)
    case mapping([YAMLPair], line: Int)

    var line: Int {
        switch self {
        case .scalar(let scalar): return scalar.line
        case .sequence(_, let line), .mapping(_, let line): return line
        }
    }

    /// True for `~`, `null`, an empty value or `!!null`.
    var isNull: Bool {
        guard case .scalar(let scalar) = self else { return false }
        if scalar.tag == "tag:yaml.org,2002:null" { return true }
        return scalar.plain && scalar.tag == nil && ["", "~", "null", "Null", "NULL"].contains(scalar.text)
    }

    /// An `{{name}}` template placeholder left unfilled: in YAML it is a flow mapping whose only key
    /// is another mapping. Returns the placeholder as written.
    var placeholder: String? {
        guard case .mapping(let pairs, _) = self, pairs.count == 1, pairs[0].value.isNull,
              case .mapping(let inner, _) = pairs[0].key, inner.count == 1, inner[0].value.isNull,
              case .scalar(let name) = inner[0].key
        else { return nil }
        return "{{\(name.text)}}"
    }

    /// A short description for problem messages; never the whole of a large value.
    var summary: String {
        if let placeholder { return "'\(placeholder)' (an unfilled template placeholder)" }
        switch self {
        case .scalar(let scalar):
            let text = scalar.text
            return text.count > 60 ? "'\(text.prefix(60))…' (\(text.count) characters)" : "'\(text)'"
        case .sequence(let items, _): return "a list of \(items.count)"
        case .mapping(let pairs, _): return "a mapping of \(pairs.count)"
        }
    }
}

/// A key and its value in a YAML mapping.
struct YAMLPair: Sendable {
    var key: YAMLNode
    var value: YAMLNode
}

/// Why a file could not be read as a YAML tree.
struct YAMLTreeError: Error, Sendable {
    var reason: String
}

/// Builds a ``YAMLNode`` tree from libyaml's event stream with an explicit stack (no recursion),
/// counting nodes with aliases expanded and refusing past ``YAMLLimits``.
enum YAMLComposer {
    private struct Frame {
        var isMapping: Bool
        var items: [YAMLNode] = []
        var pairs: [YAMLPair] = []
        var pendingKey: YAMLNode?
        var anchor: String?
        var line: Int
        /// Nodes under this one, aliases expanded, for an anchor's size.
        var size = 1
    }

    /// The document's root, nil for an empty document.
    static func compose(_ text: String) throws -> YAMLNode? {
        var bytes = Array(text.utf8)
        guard bytes.count <= YAMLLimits.maximumDocumentBytes else {
            throw YAMLTreeError(reason: "the file is \(bytes.count) bytes; the limit is \(YAMLLimits.maximumDocumentBytes) (1 MiB)")
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw YAMLTreeError(reason: "the YAML reader could not start") }
        defer { yaml_parser_delete(&parser) }
        return try bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            return try run(&parser, text: text)
        }
    }

    private static func run(_ parser: inout yaml_parser_t, text: String) throws -> YAMLNode? {
        var stack: [Frame] = []
        var anchors: [String: (node: YAMLNode, size: Int)] = [:]
        var root: YAMLNode?
        var documents = 0
        var total = 0

        func count(_ size: Int, line: Int) throws {
            total += size
            if total > YAMLLimits.maximumNodes {
                throw YAMLTreeError(reason: "line \(line): more than \(YAMLLimits.maximumNodes) values (aliases counted as what they repeat); is this an alias bomb?")
            }
        }

        func attach(_ node: YAMLNode, size: Int, anchor: String?) {
            if let anchor { anchors[anchor] = (node, size) }
            guard var parent = stack.popLast() else {
                root = node
                return
            }
            parent.size += size
            if parent.isMapping {
                if let key = parent.pendingKey {
                    parent.pairs.append(YAMLPair(key: key, value: node))
                    parent.pendingKey = nil
                } else {
                    parent.pendingKey = node
                }
            } else {
                parent.items.append(node)
            }
            stack.append(parent)
        }

        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else { throw readerError(parser, text: text) }
            defer { yaml_event_delete(&event) }
            let line = Int(event.start_mark.line) + 1
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return root
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    throw YAMLTreeError(reason: "line \(line): the file holds more than one YAML document ('---'); keep one")
                }
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                let value = string(scalar.value, length: scalar.length)
                let tag = scalar.tag.map { String(cString: $0) }
                try count(1, line: line)
                let node = YAMLNode.scalar(YAMLScalar(text: value, plain: scalar.plain_implicit == 1 && tag == nil, tag: tag, line: line))
                attach(node, size: 1, anchor: scalar.anchor.map { String(cString: $0) })
            case YAML_ALIAS_EVENT:
                let name = event.data.alias.anchor.map { String(cString: $0) } ?? ""
                guard let anchored = anchors[name] else {
                    throw YAMLTreeError(reason: "line \(line): the alias *\(name) names no anchor (&\(name)) before it")
                }
                try count(anchored.size, line: line)
                attach(anchored.node, size: anchored.size, anchor: nil)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                guard stack.count < YAMLLimits.maximumDepth else {
                    throw YAMLTreeError(reason: "line \(line): lists and mappings nest deeper than \(YAMLLimits.maximumDepth) levels")
                }
                try count(1, line: line)
                let isMapping = event.type == YAML_MAPPING_START_EVENT
                let anchor = isMapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor
                stack.append(Frame(isMapping: isMapping, anchor: anchor.map { String(cString: $0) }, line: line))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let frame = stack.popLast() else { throw YAMLTreeError(reason: "line \(line): unbalanced list or mapping") }
                let node: YAMLNode = frame.isMapping ? .mapping(merged(frame.pairs), line: frame.line) : .sequence(frame.items, line: frame.line)
                attach(node, size: frame.size, anchor: frame.anchor)
            default:
                break
            }
        }
    }

    /// Applies YAML merge keys (`<<: *base`): the merged mapping's keys come after the explicit
    /// ones, which win.
    private static func merged(_ pairs: [YAMLPair]) -> [YAMLPair] {
        func isMergeKey(_ node: YAMLNode) -> Bool {
            if case .scalar(let scalar) = node { return scalar.plain && scalar.text == "<<" }
            return false
        }
        guard pairs.contains(where: { isMergeKey($0.key) }) else { return pairs }
        var out = pairs.filter { !isMergeKey($0.key) }
        func keyText(_ node: YAMLNode) -> String? {
            if case .scalar(let scalar) = node { return scalar.text }
            return nil
        }
        var seen = Set(out.compactMap { keyText($0.key) })
        for pair in pairs where isMergeKey(pair.key) {
            let sources: [YAMLNode]
            switch pair.value {
            case .mapping: sources = [pair.value]
            case .sequence(let items, _): sources = items
            case .scalar: sources = []
            }
            for case .mapping(let inherited, _) in sources {
                for item in inherited {
                    guard let key = keyText(item.key), !seen.contains(key) else { continue }
                    seen.insert(key)
                    out.append(item)
                }
            }
        }
        return out
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?, length: Int) -> String {
        guard let pointer else { return "" }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    private static func readerError(_ parser: yaml_parser_t, text: String) -> YAMLTreeError {
        let problem = parser.problem.map { String(cString: $0) } ?? "unreadable YAML"
        let context = parser.context.map { String(cString: $0) }
        let line = Int(parser.problem_mark.line) + 1
        let column = Int(parser.problem_mark.column) + 1
        if problem.hasPrefix("Maximum nesting level") {
            return YAMLTreeError(reason: "line \(line): lists and mappings nest deeper than \(YAMLLimits.maximumDepth) levels")
        }
        var reason = "not valid YAML: line \(line), column \(column): \(problem)"
        if let context { reason += " (\(context))" }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        func lineText(_ number: Int) -> Substring { number >= 1 && number <= lines.count ? lines[number - 1] : "" }
        if lineText(line).contains("{{") || lineText(line - 1).contains("{{") {
            reason += "; an unfilled template placeholder such as {{host}}? Fill it in, or quote the value"
        } else if text.contains("\t") && problem.contains("cannot start any token") {
            reason += "; YAML cannot indent with tabs, use spaces"
        }
        return YAMLTreeError(reason: reason)
    }
}

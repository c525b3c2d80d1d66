import Foundation

/// The OpenAPI 3.0 document served at `/api/v1/openapi.json`. It is written by hand next to the
/// routes; a test checks that every route the router serves appears in it.
public enum OpenAPIDocument {
    /// The document as UTF-8 JSON.
    public static func data() -> [UInt8] { Array(json.utf8) }

    /// The document's text.
    public static let json = #"""
{
  "openapi": "3.0.3",
  "info": {
    "title": "Berth",
    "version": "0.1.0",
    "description": "Isolated Linux containers from prebuilt images, one per player, with limits and lifetimes. Errors are {\"error\":{\"code\",\"message\"}}."
  },
  "servers": [
    {
      "url": "/"
    }
  ],
  "security": [
    {
      "bearer": []
    },
    {
      "session": []
    }
  ],
  "components": {
    "securitySchemes": {
      "bearer": {
        "type": "http",
        "scheme": "bearer"
      },
      "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "berth_session",
        "description": "A browser session from POST /api/v1/auth/login or /register. Requests that change something also need the X-CSRF-Token header."
      }
    },
    "schemas": {
      "Error": {
        "type": "object",
        "required": [
          "error"
        ],
        "properties": {
          "error": {
            "type": "object",
            "required": [
              "code",
              "message"
            ],
            "properties": {
              "code": {
                "type": "string",
                "description": "Stable snake_case code"
              },
              "message": {
                "type": "string",
                "description": "What went wrong and what to do next"
              }
            }
          }
        }
      },
      "Endpoint": {
        "type": "object",
        "required": [
          "port",
          "protocol",
          "host",
          "hostPort"
        ],
        "properties": {
          "port": {
            "type": "integer"
          },
          "protocol": {
            "type": "string",
            "enum": [
              "http",
              "tcp"
            ]
          },
          "host": {
            "type": "string"
          },
          "hostPort": {
            "type": "integer"
          },
          "url": {
            "type": "string",
            "nullable": true
          }
        }
      },
      "Instance": {
        "type": "object",
        "required": [
          "id",
          "environment",
          "owner",
          "requestedBy",
          "state",
          "createdAt",
          "updatedAt",
          "expiresAt",
          "maxExpiresAt",
          "renewalsLeft",
          "endpoints"
        ],
        "properties": {
          "id": {
            "type": "string"
          },
          "environment": {
            "type": "string"
          },
          "owner": {
            "type": "object",
            "properties": {
              "kind": {
                "type": "string",
                "enum": [
                  "user",
                  "team"
                ]
              },
              "id": {
                "type": "string"
              }
            }
          },
          "requestedBy": {
            "type": "string"
          },
          "state": {
            "type": "string",
            "enum": [
              "requested",
              "starting",
              "running",
              "stopping",
              "stopped",
              "failed",
              "expired"
            ]
          },
          "createdAt": {
            "type": "string",
            "format": "date-time"
          },
          "updatedAt": {
            "type": "string",
            "format": "date-time"
          },
          "expiresAt": {
            "type": "string",
            "format": "date-time"
          },
          "maxExpiresAt": {
            "type": "string",
            "format": "date-time"
          },
          "renewalsLeft": {
            "type": "integer"
          },
          "endpoints": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/Endpoint"
            }
          },
          "terminal": {
            "type": "object",
            "nullable": true,
            "description": "What the instance's terminal runs",
            "properties": {
              "command": {
                "type": "array",
                "items": {
                  "type": "string"
                }
              },
              "user": {
                "type": "string",
                "nullable": true
              },
              "workdir": {
                "type": "string",
                "nullable": true
              }
            }
          },
          "reason": {
            "type": "string",
            "nullable": true,
            "description": "Why it failed, stopped or expired, in words for the player (for example that it ran out of memory, with the limit)"
          },
          "connectionInfo": {
            "type": "string",
            "nullable": true,
            "description": "The environment's connection_info with {{host}}, {{port}} and {{url}} filled from the first endpoint, while the instance is active and has one. Text: render it without HTML"
          },
          "renewableAt": {
            "type": "string",
            "format": "date-time",
            "nullable": true,
            "description": "When Renew opens: once at most half of the TTL remains, so a renewal always adds time; null when it cannot be renewed (not running, no renewals left, at its maximum lifetime)"
          }
        }
      },
      "Environment": {
        "type": "object",
        "required": [
          "slug",
          "name",
          "network",
          "hasInstance",
          "visibility"
        ],
        "properties": {
          "slug": {
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "category": {
            "type": "string"
          },
          "description": {
            "type": "string"
          },
          "value": {
            "type": "integer",
            "nullable": true
          },
          "type": {
            "type": "string"
          },
          "author": {
            "type": "string",
            "nullable": true
          },
          "connectionInfo": {
            "type": "string",
            "nullable": true
          },
          "tags": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "image": {
            "type": "string",
            "nullable": true,
            "description": "The image instances run (berth-env/<slug>:latest when Berth builds the folder, or a prebuilt name:tag); absent for a challenge without an instance"
          },
          "hasInstance": {
            "type": "boolean",
            "description": "False for a challenge without an instance (no image and no Dockerfile): nothing to start"
          },
          "visibility": {
            "type": "string",
            "enum": [
              "visible",
              "hidden"
            ],
            "description": "ctfcli `state`; players never see hidden environments"
          },
          "maxAttempts": {
            "type": "integer",
            "nullable": true,
            "description": "ctfcli `attempts`: the most wrong submissions an owner (user or team) may make"
          },
          "requirements": {
            "type": "object",
            "nullable": true,
            "description": "ctfcli `requirements`: environments (by slug or name) to solve first",
            "properties": {
              "prerequisites": {
                "type": "array",
                "items": {
                  "type": "string"
                }
              },
              "anonymize": {
                "type": "boolean",
                "description": "While locked, players see a placeholder (no name, description, hints or files) instead of nothing"
              }
            }
          },
          "ports": {
            "type": "array",
            "items": {
              "type": "object",
              "properties": {
                "port": {
                  "type": "integer"
                },
                "protocol": {
                  "type": "string",
                  "enum": [
                    "http",
                    "tcp"
                  ]
                }
              }
            }
          },
          "resources": {
            "type": "object",
            "properties": {
              "memoryBytes": {
                "type": "integer"
              },
              "cpus": {
                "type": "number"
              },
              "pids": {
                "type": "integer"
              }
            }
          },
          "network": {
            "type": "string",
            "enum": [
              "none",
              "isolated",
              "internet"
            ]
          },
          "lifetime": {
            "type": "object",
            "properties": {
              "ttlSeconds": {
                "type": "integer"
              },
              "renewals": {
                "type": "integer"
              },
              "maxLifetimeSeconds": {
                "type": "integer"
              }
            }
          },
          "readOnlyRoot": {
            "type": "boolean"
          },
          "writable": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "privileged": {
            "type": "boolean"
          },
          "warnings": {
            "type": "array",
            "items": {
              "type": "string"
            },
            "nullable": true,
            "description": "Admins only"
          }
        }
      },
      "User": {
        "type": "object",
        "required": [
          "id",
          "name",
          "role",
          "createdAt"
        ],
        "properties": {
          "id": {
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "role": {
            "type": "string",
            "enum": [
              "player",
              "admin"
            ]
          },
          "createdAt": {
            "type": "string",
            "format": "date-time"
          }
        }
      },
      "Team": {
        "type": "object",
        "required": [
          "id",
          "name",
          "createdAt",
          "members"
        ],
        "properties": {
          "id": {
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "createdAt": {
            "type": "string",
            "format": "date-time"
          },
          "members": {
            "type": "array",
            "items": {
              "type": "string"
            }
          },
          "inviteCode": {
            "type": "string",
            "description": "The code players join with (POST /api/v1/me/team/join)"
          }
        }
      },
      "IssuedToken": {
        "type": "object",
        "required": [
          "id",
          "userId",
          "name",
          "token",
          "createdAt"
        ],
        "properties": {
          "id": {
            "type": "string"
          },
          "userId": {
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "token": {
            "type": "string",
            "description": "The secret; shown once, stored only as a SHA-256 hash"
          },
          "createdAt": {
            "type": "string",
            "format": "date-time"
          }
        }
      },
      "Event": {
        "type": "object",
        "required": [
          "sequence",
          "time",
          "kind",
          "detail"
        ],
        "properties": {
          "sequence": {
            "type": "integer"
          },
          "time": {
            "type": "string",
            "format": "date-time"
          },
          "kind": {
            "type": "string"
          },
          "instanceId": {
            "type": "string",
            "nullable": true
          },
          "userId": {
            "type": "string",
            "nullable": true
          },
          "detail": {
            "type": "string"
          }
        }
      },
      "TerminalTicket": {
        "type": "object",
        "required": [
          "ticket",
          "expiresIn",
          "access",
          "terminal",
          "url"
        ],
        "properties": {
          "ticket": {
            "type": "string"
          },
          "expiresIn": {
            "type": "integer",
            "description": "Seconds"
          },
          "access": {
            "type": "string",
            "enum": [
              "read",
              "write"
            ]
          },
          "terminal": {
            "type": "string"
          },
          "url": {
            "type": "string",
            "description": "Path of the WebSocket with the ticket"
          }
        }
      },
      "Share": {
        "type": "object",
        "required": [
          "share",
          "access",
          "url"
        ],
        "properties": {
          "share": {
            "type": "string",
            "description": "The link's secret"
          },
          "access": {
            "type": "string",
            "enum": [
              "read",
              "write"
            ]
          },
          "url": {
            "type": "string",
            "description": "Terminal page with the share in its fragment"
          }
        }
      },
      "Recording": {
        "type": "object",
        "required": [
          "id",
          "instanceId",
          "environment",
          "owner",
          "terminal",
          "startedAt",
          "bytes"
        ],
        "properties": {
          "id": {
            "type": "string"
          },
          "instanceId": {
            "type": "string"
          },
          "environment": {
            "type": "string"
          },
          "owner": {
            "type": "object",
            "properties": {
              "kind": {
                "type": "string",
                "enum": [
                  "user",
                  "team"
                ]
              },
              "id": {
                "type": "string"
              }
            }
          },
          "ownerName": {
            "type": "string",
            "nullable": true,
            "description": "The owning user's or team's name, so pages show names rather than ids; null when the account is gone"
          },
          "terminal": {
            "type": "string"
          },
          "startedAt": {
            "type": "string",
            "format": "date-time"
          },
          "endedAt": {
            "type": "string",
            "format": "date-time",
            "nullable": true
          },
          "bytes": {
            "type": "integer"
          }
        }
      },
      "VerificationReport": {
        "type": "object",
        "required": [
          "valid",
          "segments",
          "bytesVerified",
          "finalized",
          "unverifiedTailBytes",
          "problems"
        ],
        "properties": {
          "valid": {
            "type": "boolean"
          },
          "segments": {
            "type": "integer"
          },
          "bytesVerified": {
            "type": "integer"
          },
          "finalized": {
            "type": "boolean",
            "description": "false when the recording is live or its writer was killed; everything up to the last flush still verifies"
          },
          "unverifiedTailBytes": {
            "type": "integer"
          },
          "problems": {
            "type": "array",
            "items": {
              "type": "string"
            }
          }
        }
      },
      "RecordingAnalysis": {
        "type": "object",
        "required": [
          "inputRecorded",
          "duration",
          "activeSeconds",
          "thresholds",
          "commands",
          "pastes",
          "idle",
          "cadence",
          "markers",
          "skippedLines"
        ],
        "properties": {
          "recordingId": {
            "type": "string"
          },
          "inputRecorded": {
            "type": "boolean",
            "description": "False for output-only recordings: then there are no commands, pastes or cadence"
          },
          "duration": {
            "type": "number"
          },
          "activeSeconds": {
            "type": "number"
          },
          "thresholds": {
            "type": "object",
            "required": [
              "pasteChars",
              "pasteWindowMs",
              "idleSeconds"
            ],
            "properties": {
              "pasteChars": {
                "type": "integer"
              },
              "pasteWindowMs": {
                "type": "integer"
              },
              "idleSeconds": {
                "type": "number"
              }
            }
          },
          "commands": {
            "type": "array",
            "items": {
              "type": "object",
              "required": [
                "time",
                "startedAt",
                "text",
                "approximate"
              ],
              "properties": {
                "time": {
                  "type": "number"
                },
                "startedAt": {
                  "type": "number"
                },
                "text": {
                  "type": "string"
                },
                "approximate": {
                  "type": "boolean",
                  "description": "Edited with arrows, history or Tab: the shell may have run something else"
                }
              }
            }
          },
          "pastes": {
            "type": "array",
            "items": {
              "type": "object",
              "required": [
                "time",
                "chars",
                "kind",
                "text"
              ],
              "properties": {
                "time": {
                  "type": "number"
                },
                "chars": {
                  "type": "integer"
                },
                "kind": {
                  "type": "string",
                  "enum": [
                    "bracketed",
                    "burst"
                  ]
                },
                "text": {
                  "type": "string",
                  "description": "First 200 characters"
                }
              }
            }
          },
          "idle": {
            "type": "array",
            "items": {
              "type": "object",
              "required": [
                "start",
                "end",
                "seconds"
              ],
              "properties": {
                "start": {
                  "type": "number"
                },
                "end": {
                  "type": "number"
                },
                "seconds": {
                  "type": "number"
                }
              }
            }
          },
          "cadence": {
            "type": "object",
            "required": [
              "keystrokes"
            ],
            "properties": {
              "keystrokes": {
                "type": "integer"
              },
              "medianIntervalMs": {
                "type": "number",
                "nullable": true
              },
              "p90IntervalMs": {
                "type": "number",
                "nullable": true
              },
              "keysPerMinute": {
                "type": "number",
                "nullable": true
              }
            }
          },
          "markers": {
            "type": "array",
            "items": {
              "type": "object",
              "required": [
                "time",
                "label"
              ],
              "properties": {
                "time": {
                  "type": "number"
                },
                "label": {
                  "type": "string"
                }
              }
            }
          },
          "skippedLines": {
            "type": "integer",
            "description": "Lines of the file that were not valid events"
          }
        }
      },
      "AuditEntry": {
        "type": "object",
        "required": [
          "sequence",
          "time",
          "timeMilliseconds",
          "action",
          "status",
          "result",
          "previousHash",
          "hash"
        ],
        "description": "One action. `hash` is the SHA-256 of `berth-audit-v1\\n` then previousHash, sequence, timeMilliseconds, actorId, actorName, actorRole, clientIp, userAgent, action, target, status, result, detail, each as `<UTF-8 byte count>:<value>\\n` (`-1:\\n` when missing). See docs/audit-log.md.",
        "properties": {
          "sequence": {
            "type": "integer"
          },
          "time": {
            "type": "string",
            "format": "date-time"
          },
          "timeMilliseconds": {
            "type": "integer"
          },
          "actorId": {
            "type": "string",
            "description": "User id, `system` for Berth's own actions; missing when nobody authenticated"
          },
          "actorName": {
            "type": "string"
          },
          "actorRole": {
            "type": "string",
            "enum": [
              "admin",
              "player",
              "system"
            ]
          },
          "clientIp": {
            "type": "string"
          },
          "userAgent": {
            "type": "string"
          },
          "action": {
            "type": "string",
            "description": "`METHOD /route/{param}`, or a dotted name for Berth's own actions (recording.delete)"
          },
          "target": {
            "type": "string"
          },
          "status": {
            "type": "integer",
            "description": "HTTP status; 0 for Berth's own actions"
          },
          "result": {
            "type": "string",
            "description": "`ok` or the error code"
          },
          "detail": {
            "type": "string"
          },
          "previousHash": {
            "type": "string"
          },
          "hash": {
            "type": "string"
          }
        }
      },
      "Session": {
        "type": "object",
        "required": [
          "user",
          "csrfToken",
          "registrationOpen",
          "githubLogin",
          "scoring"
        ],
        "properties": {
          "user": {
            "allOf": [
              {
                "$ref": "#/components/schemas/User"
              }
            ],
            "nullable": true
          },
          "csrfToken": {
            "type": "string"
          },
          "registrationOpen": {
            "type": "boolean"
          },
          "githubLogin": {
            "type": "boolean"
          },
          "scoring": {
            "type": "string",
            "enum": [
              "users",
              "teams"
            ]
          }
        }
      },
      "MyTeam": {
        "type": "object",
        "required": [
          "id",
          "name",
          "inviteCode",
          "members"
        ],
        "properties": {
          "id": {
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "inviteCode": {
            "type": "string"
          },
          "members": {
            "type": "array",
            "items": {
              "type": "object",
              "properties": {
                "id": {
                  "type": "string"
                },
                "name": {
                  "type": "string"
                }
              }
            }
          }
        }
      },
      "CatalogEntry": {
        "allOf": [
          {
            "$ref": "#/components/schemas/Environment"
          },
          {
            "type": "object",
            "required": [
              "points",
              "solved",
              "solves",
              "hasFlag",
              "enabled",
              "hints",
              "locked",
              "lockedBy",
              "files"
            ],
            "properties": {
              "points": {
                "type": "integer",
                "description": "What a solve is worth now (dynamic scoring lowers it as solves accumulate)"
              },
              "solved": {
                "type": "boolean",
                "description": "Solved by the caller (or their team in team mode)"
              },
              "solves": {
                "type": "integer"
              },
              "hasFlag": {
                "type": "boolean"
              },
              "enabled": {
                "type": "boolean",
                "description": "Players only see enabled environments"
              },
              "hints": {
                "type": "array",
                "items": {
                  "type": "object",
                  "required": [
                    "index",
                    "cost",
                    "unlocked",
                    "content"
                  ],
                  "properties": {
                    "index": {
                      "type": "integer"
                    },
                    "cost": {
                      "type": "integer"
                    },
                    "unlocked": {
                      "type": "boolean"
                    },
                    "content": {
                      "type": "string",
                      "nullable": true,
                      "description": "Null until unlocked (free hints are always unlocked)"
                    }
                  }
                }
              },
              "locked": {
                "type": "boolean",
                "description": "Prerequisites are unsolved. Only environments whose requirements say `anonymize` are listed while locked, as a placeholder; others are not listed at all"
              },
              "lockedBy": {
                "type": "array",
                "items": {
                  "type": "string"
                },
                "description": "Names of the unsolved prerequisites"
              },
              "attemptsLeft": {
                "type": "integer",
                "nullable": true,
                "description": "Wrong submissions the caller's owner may still make; null without a limit"
              },
              "files": {
                "type": "array",
                "items": {
                  "$ref": "#/components/schemas/Attachment"
                }
              }
            }
          }
        ]
      },
      "Attachment": {
        "type": "object",
        "required": [
          "name",
          "size",
          "sha256",
          "url"
        ],
        "properties": {
          "name": {
            "type": "string",
            "description": "The file's name (unique in its environment)"
          },
          "size": {
            "type": "integer",
            "format": "int64"
          },
          "sha256": {
            "type": "string",
            "description": "Lowercase hex SHA-256 of the contents"
          },
          "url": {
            "type": "string",
            "description": "Where to download it (GET, signed in)"
          }
        }
      },
      "SubmissionResult": {
        "type": "object",
        "required": [
          "correct",
          "outcome",
          "points",
          "message"
        ],
        "properties": {
          "correct": {
            "type": "boolean"
          },
          "outcome": {
            "type": "string",
            "enum": [
              "correct",
              "incorrect",
              "already_solved"
            ],
            "description": "Another owner's per-instance flag shows as incorrect to the player and as `shared` to admins"
          },
          "points": {
            "type": "integer"
          },
          "message": {
            "type": "string"
          },
          "attemptsLeft": {
            "type": "integer",
            "description": "With an attempts limit: wrong submissions left after this one"
          }
        }
      },
      "ScoreboardEntry": {
        "type": "object",
        "required": [
          "rank",
          "kind",
          "id",
          "name",
          "points",
          "solves"
        ],
        "properties": {
          "rank": {
            "type": "integer"
          },
          "kind": {
            "type": "string",
            "enum": [
              "user",
              "team"
            ]
          },
          "id": {
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "points": {
            "type": "integer",
            "description": "Solves at their current value, less hint costs"
          },
          "solves": {
            "type": "integer"
          },
          "lastSolveAt": {
            "type": "string",
            "format": "date-time"
          }
        }
      },
      "Settings": {
        "type": "object",
        "properties": {
          "registrationOpen": {
            "type": "boolean"
          },
          "publicHost": {
            "type": "string",
            "nullable": true
          },
          "defaultTTL": {
            "type": "string",
            "nullable": true,
            "description": "For environments without their own ttl, e.g. 45m"
          },
          "renewalCap": {
            "type": "integer",
            "nullable": true
          },
          "assignment": {
            "type": "string",
            "enum": [
              "user",
              "team",
              "unlimited"
            ]
          },
          "ownerCap": {
            "type": "integer"
          },
          "globalCap": {
            "type": "integer"
          }
        }
      },
      "AdminEnvironment": {
        "type": "object",
        "properties": {
          "slug": {
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "category": {
            "type": "string"
          },
          "enabled": {
            "type": "boolean"
          },
          "image": {
            "type": "string",
            "nullable": true
          },
          "imageBuilt": {
            "type": "boolean"
          },
          "imageStatus": {
            "type": "string",
            "enum": [
              "none",
              "built",
              "not_built",
              "image_not_found"
            ],
            "description": "`none` for a challenge without an instance; `image_not_found` for a prebuilt image missing from the engine (Berth never pulls)"
          },
          "hasInstance": {
            "type": "boolean"
          },
          "visibility": {
            "type": "string",
            "enum": [
              "visible",
              "hidden"
            ]
          },
          "activeInstances": {
            "type": "integer"
          },
          "points": {
            "type": "integer"
          },
          "solves": {
            "type": "integer"
          }
        }
      },
      "Submission": {
        "type": "object",
        "properties": {
          "id": {
            "type": "string"
          },
          "time": {
            "type": "string",
            "format": "date-time"
          },
          "userId": {
            "type": "string"
          },
          "userName": {
            "type": "string"
          },
          "scorer": {
            "type": "object",
            "properties": {
              "kind": {
                "type": "string"
              },
              "id": {
                "type": "string"
              }
            }
          },
          "environment": {
            "type": "string"
          },
          "submitted": {
            "type": "string"
          },
          "outcome": {
            "type": "string",
            "enum": [
              "correct",
              "incorrect",
              "already_solved",
              "shared",
              "rate_limited"
            ]
          },
          "sharedFromInstance": {
            "type": "string"
          },
          "sharedFromOwner": {
            "type": "object",
            "properties": {
              "kind": {
                "type": "string"
              },
              "id": {
                "type": "string"
              }
            }
          },
          "clientIp": {
            "type": "string"
          }
        }
      }
    },
    "responses": {
      "E400": {
        "description": "Bad request (invalid_body, invalid_query)",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "E401": {
        "description": "Missing or invalid token (unauthorized)",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "E403": {
        "description": "Not allowed for this caller (forbidden)",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "E404": {
        "description": "Not found (route_not_found, instance_not_found, environment_not_found, user_not_found, team_not_found, asset_not_found, recording_not_found, recording_file_missing)",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "E409": {
        "description": "Conflicts with the current state (instance_exists, instance_not_running, instance_not_active, instance_busy, renewal_limit_reached, renew_too_early, max_lifetime_reached, image_not_built, team_required, user_name_taken, team_name_taken, already_member)",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "E422": {
        "description": "Invalid field value (invalid_name, invalid_role, invalid_terminal, invalid_access)",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "E429": {
        "description": "A cap was hit (owner_cap_reached, global_cap_reached)",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      },
      "E503": {
        "description": "Store or engine unavailable (engine_unavailable, store_unavailable, not_ready, ports_exhausted)",
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        }
      }
    }
  },
  "paths": {
    "/healthz": {
      "get": {
        "summary": "Liveness: answers while the process runs",
        "operationId": "healthz",
        "responses": {
          "200": {
            "description": "Alive",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "status": {
                      "type": "string"
                    }
                  }
                }
              }
            }
          }
        },
        "security": [],
        "tags": [
          "system"
        ]
      }
    },
    "/readyz": {
      "get": {
        "summary": "Readiness: the store and the engine answer; always within 2 s (a wedged engine is 503 engine_unavailable, a broken store 503 not_ready)",
        "operationId": "readyz",
        "responses": {
          "200": {
            "description": "Ready",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "status": {
                      "type": "string"
                    },
                    "store": {
                      "type": "string"
                    },
                    "engine": {
                      "type": "string"
                    }
                  }
                }
              }
            }
          },
          "503": {
            "$ref": "#/components/responses/E503"
          }
        },
        "security": [],
        "tags": [
          "system"
        ]
      }
    },
    "/api/v1/openapi.json": {
      "get": {
        "summary": "This document",
        "operationId": "openapi",
        "responses": {
          "200": {
            "description": "The OpenAPI 3.0 document",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            }
          }
        },
        "security": [],
        "tags": [
          "system"
        ]
      }
    },
    "/api/v1/me": {
      "get": {
        "summary": "The caller",
        "operationId": "me",
        "responses": {
          "200": {
            "description": "The authenticated user",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/User"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          }
        },
        "tags": [
          "accounts"
        ]
      }
    },
    "/api/v1/environments": {
      "get": {
        "summary": "The catalog of environments",
        "operationId": "listEnvironments",
        "responses": {
          "200": {
            "description": "The catalog (players see enabled environments only)",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/CatalogEntry"
                      }
                    }
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          }
        },
        "tags": [
          "environments"
        ]
      }
    },
    "/api/v1/environments/{slug}": {
      "get": {
        "summary": "One environment",
        "operationId": "getEnvironment",
        "responses": {
          "200": {
            "description": "The environment with the caller's standing",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/CatalogEntry"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          }
        },
        "parameters": [
          {
            "name": "slug",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Environment slug (its folder name)"
          }
        ],
        "tags": [
          "environments"
        ]
      }
    },
    "/api/v1/environments/{slug}/files": {
      "get": {
        "summary": "An environment's attachments (ctfcli `files:`) with size and SHA-256",
        "operationId": "listAttachments",
        "tags": [
          "environments"
        ],
        "parameters": [
          {
            "name": "slug",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Environment slug"
          }
        ],
        "responses": {
          "200": {
            "description": "The attachments; admins also get `problems`, the `files:` entries that serve nothing (missing, outside the folder, duplicate names)",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/Attachment"
                      }
                    },
                    "problems": {
                      "type": "array",
                      "items": {
                        "type": "string"
                      }
                    }
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "description": "`environment_locked` or `environment_disabled`",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "$ref": "#/components/responses/E404"
          }
        }
      }
    },
    "/api/v1/environments/{slug}/files/{name}": {
      "get": {
        "summary": "Download an attachment (audited)",
        "operationId": "downloadAttachment",
        "tags": [
          "environments"
        ],
        "parameters": [
          {
            "name": "slug",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Environment slug"
          },
          {
            "name": "name",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "The attachment's name as listed"
          }
        ],
        "responses": {
          "200": {
            "description": "The bytes, with `Content-Disposition: attachment`, `Content-Length` and `X-Content-SHA256`",
            "content": {
              "application/octet-stream": {
                "schema": {
                  "type": "string",
                  "format": "binary"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "description": "`environment_locked` or `environment_disabled`",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "description": "`environment_not_found` (also for hidden and unlisted locked environments) or `attachment_not_found`",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/api/v1/admin/environments/reload": {
      "post": {
        "summary": "Re-read the environments folder (admin)",
        "operationId": "reloadEnvironments",
        "responses": {
          "200": {
            "description": "What loaded and every problem found",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "environments": {
                      "type": "array",
                      "items": {
                        "type": "string"
                      }
                    },
                    "problems": {
                      "type": "array",
                      "items": {
                        "type": "string"
                      }
                    }
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          }
        },
        "tags": [
          "environments"
        ]
      }
    },
    "/api/v1/instances": {
      "post": {
        "summary": "Start an instance of an environment; answers once it is running",
        "operationId": "createInstance",
        "responses": {
          "201": {
            "description": "The running instance",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Instance"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "description": "`environment_disabled` or `environment_locked` (its prerequisites are unsolved)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "422": {
            "description": "`no_instance` (a challenge without an instance) or `image_not_found` (its prebuilt image is not on the engine; Berth never pulls)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "429": {
            "$ref": "#/components/responses/E429"
          },
          "503": {
            "$ref": "#/components/responses/E503"
          }
        },
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "environment"
                ],
                "properties": {
                  "environment": {
                    "type": "string",
                    "description": "Environment slug"
                  }
                }
              }
            }
          }
        },
        "tags": [
          "instances"
        ]
      },
      "get": {
        "summary": "The caller's instances (all instances for an admin, unless mine=true), newest first",
        "operationId": "listInstances",
        "responses": {
          "200": {
            "description": "Instances",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "required": [
                    "items"
                  ],
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/Instance"
                      }
                    }
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          }
        },
        "parameters": [
          {
            "name": "active",
            "in": "query",
            "required": false,
            "schema": {
              "type": "boolean"
            },
            "description": "true: only requested, starting, running or stopping instances"
          },
          {
            "name": "mine",
            "in": "query",
            "required": false,
            "schema": {
              "type": "boolean"
            },
            "description": "true: only the caller's own and their team's instances, also for an admin (the personal pages use this; the admin console lists everyone's)"
          }
        ],
        "tags": [
          "instances"
        ]
      }
    },
    "/api/v1/instances/{id}": {
      "get": {
        "summary": "One instance",
        "operationId": "getInstance",
        "responses": {
          "200": {
            "description": "The instance",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Instance"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          }
        },
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Instance id"
          }
        ],
        "tags": [
          "instances"
        ]
      },
      "delete": {
        "summary": "Stop (owner) or kill (admin) an instance",
        "operationId": "deleteInstance",
        "responses": {
          "200": {
            "description": "The stopped instance",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Instance"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "503": {
            "$ref": "#/components/responses/E503"
          }
        },
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Instance id"
          }
        ],
        "tags": [
          "instances"
        ]
      }
    },
    "/api/v1/instances/{id}/renew": {
      "post": {
        "summary": "Extend the expiry to now + TTL, never past the maximum lifetime; allowed once at most half of the TTL remains (409 renew_too_early before)",
        "operationId": "renewInstance",
        "responses": {
          "200": {
            "description": "The renewed instance",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Instance"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          }
        },
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Instance id"
          }
        ],
        "tags": [
          "instances"
        ]
      }
    },
    "/api/v1/instances/{id}/reset": {
      "post": {
        "summary": "Replace the container with a fresh one; id, expiry and renewals stay. When the engine cannot remove the old container (503 engine_unavailable), the instance is left unchanged and running; when the new one cannot start, the instance ends as failed and the error says so",
        "operationId": "resetInstance",
        "responses": {
          "200": {
            "description": "The instance, running again",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Instance"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "503": {
            "$ref": "#/components/responses/E503"
          }
        },
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Instance id"
          }
        ],
        "tags": [
          "instances"
        ]
      }
    },
    "/api/v1/instances/{id}/events": {
      "get": {
        "summary": "The instance's event log, newest first",
        "operationId": "listInstanceEvents",
        "responses": {
          "200": {
            "description": "Events",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "required": [
                    "items"
                  ],
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/Event"
                      }
                    }
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          }
        },
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Instance id"
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer"
            },
            "description": "1-1000, default 100"
          }
        ],
        "tags": [
          "instances"
        ]
      }
    },
    "/api/v1/admin/purge": {
      "post": {
        "summary": "Kill every active instance (admin)",
        "operationId": "purge",
        "responses": {
          "200": {
            "description": "How many were stopped",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "stopped": {
                      "type": "integer"
                    }
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          }
        },
        "tags": [
          "instances"
        ]
      }
    },
    "/api/v1/admin/events": {
      "get": {
        "summary": "The whole event log, newest first (admin)",
        "operationId": "listEvents",
        "responses": {
          "200": {
            "description": "Events",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "required": [
                    "items"
                  ],
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/Event"
                      }
                    }
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          }
        },
        "parameters": [
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer"
            },
            "description": "1-1000, default 100"
          }
        ],
        "tags": [
          "instances"
        ]
      }
    },
    "/api/v1/users": {
      "post": {
        "summary": "Create a user (admin)",
        "operationId": "createUser",
        "responses": {
          "201": {
            "description": "The user",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/User"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "422": {
            "$ref": "#/components/responses/E422"
          }
        },
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "name"
                ],
                "properties": {
                  "name": {
                    "type": "string"
                  },
                  "role": {
                    "type": "string",
                    "enum": [
                      "player",
                      "admin"
                    ],
                    "default": "player"
                  }
                }
              }
            }
          }
        },
        "tags": [
          "accounts"
        ]
      },
      "get": {
        "summary": "All users (admin)",
        "operationId": "listUsers",
        "responses": {
          "200": {
            "description": "Users",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "required": [
                    "items"
                  ],
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/User"
                      }
                    }
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          }
        },
        "tags": [
          "accounts"
        ]
      }
    },
    "/api/v1/users/{id}": {
      "get": {
        "summary": "One user (admin)",
        "operationId": "getUser",
        "responses": {
          "200": {
            "description": "The user",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/User"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          }
        },
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "User id"
          }
        ],
        "tags": [
          "accounts"
        ]
      },
      "patch": {
        "summary": "Change a user's role (admin)",
        "operationId": "setUserRole",
        "tags": [
          "users"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "User id"
          },
          {
            "name": "X-CSRF-Token",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "With a session cookie (not with a bearer token): the csrfToken of GET /api/v1/session"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "role"
                ],
                "properties": {
                  "role": {
                    "type": "string",
                    "enum": [
                      "player",
                      "admin"
                    ]
                  }
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The user",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/User"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "422": {
            "$ref": "#/components/responses/E422"
          },
          "409": {
            "description": "`cannot_demote_self`",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/api/v1/users/{id}/tokens": {
      "post": {
        "summary": "Issue an API token for a user (admin); the secret is shown only in this answer",
        "operationId": "createToken",
        "responses": {
          "201": {
            "description": "The token and its secret",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/IssuedToken"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "422": {
            "$ref": "#/components/responses/E422"
          }
        },
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "User id"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "name"
                ],
                "properties": {
                  "name": {
                    "type": "string"
                  }
                }
              }
            }
          }
        },
        "tags": [
          "accounts"
        ]
      }
    },
    "/api/v1/teams": {
      "post": {
        "summary": "Create a team (admin)",
        "operationId": "createTeam",
        "responses": {
          "201": {
            "description": "The team",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Team"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "422": {
            "$ref": "#/components/responses/E422"
          }
        },
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "name"
                ],
                "properties": {
                  "name": {
                    "type": "string"
                  }
                }
              }
            }
          }
        },
        "tags": [
          "accounts"
        ]
      },
      "get": {
        "summary": "All teams with their members (admin)",
        "operationId": "listTeams",
        "responses": {
          "200": {
            "description": "Teams",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "required": [
                    "items"
                  ],
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/Team"
                      }
                    }
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          }
        },
        "tags": [
          "accounts"
        ]
      }
    },
    "/api/v1/teams/{id}/members": {
      "post": {
        "summary": "Add a user to a team (admin); a user belongs to at most one team",
        "operationId": "addTeamMember",
        "responses": {
          "201": {
            "description": "The team",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Team"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          }
        },
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Team id"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "userId"
                ],
                "properties": {
                  "userId": {
                    "type": "string"
                  }
                }
              }
            }
          }
        },
        "tags": [
          "accounts"
        ]
      }
    },
    "/api/v1/instances/{id}/terminal/ticket": {
      "post": {
        "summary": "A single-use ticket (valid at most 60 s) that opens the terminal WebSocket. The owner gets write access, an admin read-only (the proctor view), a share-link holder what the link grants.",
        "operationId": "createTerminalTicket",
        "tags": [
          "terminal"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Instance id"
          }
        ],
        "requestBody": {
          "required": false,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "properties": {
                  "terminal": {
                    "type": "string",
                    "description": "Terminal (tab) name, default main"
                  },
                  "share": {
                    "type": "string",
                    "description": "A share link secret (shr_…)"
                  }
                }
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The ticket",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/TerminalTicket"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "422": {
            "$ref": "#/components/responses/E422"
          }
        }
      }
    },
    "/api/v1/instances/{id}/terminal": {
      "get": {
        "summary": "The terminal WebSocket (see docs/terminal-protocol.md). Binary frames carry PTY bytes both ways; text frames carry JSON control messages. Authenticated by the ticket, not a bearer token; the Origin must be allowed. Refusals are HTTP answers before the upgrade, with the error envelope: 401 ticket_required or ticket_invalid, 403 origin_not_allowed or ticket_wrong_terminal, 409 when the instance is not running.",
        "operationId": "terminalWebSocket",
        "tags": [
          "terminal"
        ],
        "security": [],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Instance id"
          },
          {
            "name": "ticket",
            "in": "query",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Single-use ticket"
          },
          {
            "name": "terminal",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Terminal name the ticket was issued for"
          },
          {
            "name": "cols",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer"
            },
            "description": "Initial columns"
          },
          {
            "name": "rows",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer"
            },
            "description": "Initial rows"
          }
        ],
        "responses": {
          "101": {
            "description": "Switching to the WebSocket protocol"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "426": {
            "description": "A plain GET without the WebSocket upgrade headers (websocket_required), in the error envelope"
          }
        }
      }
    },
    "/api/v1/instances/{id}/shares": {
      "post": {
        "summary": "Make a share link that lets a teammate watch (read) or co-drive (write) the terminal; owner only",
        "operationId": "shareTerminal",
        "tags": [
          "terminal"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Instance id"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "access"
                ],
                "properties": {
                  "access": {
                    "type": "string",
                    "enum": [
                      "read",
                      "write"
                    ]
                  }
                }
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The share link",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Share"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "422": {
            "$ref": "#/components/responses/E422"
          }
        }
      }
    },
    "/api/v1/instances/{id}/terminals": {
      "get": {
        "summary": "Names of the instance's live terminals",
        "operationId": "listTerminals",
        "tags": [
          "terminal"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Instance id"
          }
        ],
        "responses": {
          "200": {
            "description": "Terminal names",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "type": "string"
                      }
                    }
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          }
        }
      }
    },
    "/": {
      "get": {
        "summary": "Catalog by category with points and solved marks (HTML)",
        "operationId": "homePage",
        "tags": [
          "pages"
        ],
        "security": [],
        "responses": {
          "200": {
            "description": "HTML page",
            "content": {
              "text/html": {
                "schema": {
                  "type": "string"
                }
              }
            }
          }
        }
      }
    },
    "/instances/{id}/terminal": {
      "get": {
        "summary": "Terminal page (HTML, xterm.js)",
        "operationId": "terminalPage",
        "tags": [
          "pages"
        ],
        "security": [],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Instance id"
          }
        ],
        "responses": {
          "200": {
            "description": "HTML page",
            "content": {
              "text/html": {
                "schema": {
                  "type": "string"
                }
              }
            }
          }
        }
      }
    },
    "/assets/berth/{file}": {
      "get": {
        "summary": "Berth's page scripts and styles",
        "operationId": "berthAsset",
        "tags": [
          "pages"
        ],
        "security": [],
        "parameters": [
          {
            "name": "file",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "terminal.js, home.js or berth.css"
          }
        ],
        "responses": {
          "200": {
            "description": "The file"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          }
        }
      }
    },
    "/assets/xterm/{file}": {
      "get": {
        "summary": "xterm.js files installed by make setup",
        "operationId": "xtermAsset",
        "tags": [
          "pages"
        ],
        "security": [],
        "parameters": [
          {
            "name": "file",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "xterm.min.js, xterm-addon-fit.min.js or xterm.min.css"
          }
        ],
        "responses": {
          "200": {
            "description": "The file"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          }
        }
      }
    },
    "/favicon.ico": {
      "get": {
        "summary": "No icon (204), so browsers stop asking",
        "operationId": "favicon",
        "tags": [
          "pages"
        ],
        "security": [],
        "responses": {
          "204": {
            "description": "No content"
          }
        }
      }
    },
    "/api/v1/recordings": {
      "get": {
        "summary": "Terminal recordings, newest first (admin)",
        "operationId": "listRecordings",
        "tags": [
          "recordings"
        ],
        "parameters": [
          {
            "name": "instance",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only this instance's"
          },
          {
            "name": "user",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only instances owned by this user"
          },
          {
            "name": "team",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only instances owned by this team"
          },
          {
            "name": "environment",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only this environment's"
          }
        ],
        "responses": {
          "200": {
            "description": "Recordings",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/Recording"
                      }
                    }
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          }
        }
      }
    },
    "/api/v1/recordings/public-key": {
      "get": {
        "summary": "The server's Ed25519 public key (base64 of the 32 raw bytes), for verifying recordings without Berth",
        "operationId": "recordingPublicKey",
        "tags": [
          "recordings"
        ],
        "responses": {
          "200": {
            "description": "The key",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "algorithm": {
                      "type": "string"
                    },
                    "publicKey": {
                      "type": "string"
                    }
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          }
        }
      }
    },
    "/api/v1/recordings/{id}": {
      "get": {
        "summary": "One recording (admin)",
        "operationId": "getRecording",
        "tags": [
          "recordings"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Recording id"
          }
        ],
        "responses": {
          "200": {
            "description": "The recording",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Recording"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          }
        }
      },
      "delete": {
        "summary": "Delete an ended recording and its files (admin); the deletion is written to the audit log",
        "operationId": "deleteRecording",
        "tags": [
          "recordings"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Recording id"
          }
        ],
        "responses": {
          "204": {
            "description": "Deleted"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "409": {
            "description": "`recording_live`: the recording is still being written; stop its instance first",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/api/v1/recordings/{id}/verify": {
      "get": {
        "summary": "Check the recording's hash chain and signatures (admin): any edit, truncation or reordering is reported",
        "operationId": "verifyRecording",
        "tags": [
          "recordings"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Recording id"
          }
        ],
        "responses": {
          "200": {
            "description": "The verification report",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/VerificationReport"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          }
        }
      }
    },
    "/api/v1/recordings/{id}/cast": {
      "get": {
        "summary": "Download the recording as an asciicast v2 file (admin); `Range: bytes=N-` reads what was appended since byte N",
        "operationId": "downloadRecording",
        "tags": [
          "recordings"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Recording id"
          },
          {
            "name": "Range",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "`bytes=N-` only: the bytes from offset N to the end, for following a live recording"
          }
        ],
        "responses": {
          "200": {
            "description": "The .cast file",
            "content": {
              "application/x-asciicast": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "206": {
            "description": "The bytes from the requested offset (Content-Range says which)",
            "content": {
              "application/x-asciicast": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "416": {
            "description": "Nothing past the requested offset yet (Content-Range: bytes */size)"
          },
          "400": {
            "$ref": "#/components/responses/E400"
          }
        },
        "description": "Reading a recording's contents is written to the audit log."
      }
    },
    "/api/v1/recordings/{id}/analysis": {
      "get": {
        "summary": "Signals read from the recording: commands typed, pastes, typing cadence, idle periods, active time and markers (admin)",
        "description": "Evidence with times (seconds from the start of the recording), not verdicts. The player at /recordings/{id} links each signal to its moment with #t=SECONDS.",
        "operationId": "analyseRecording",
        "tags": [
          "recordings"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Recording id"
          },
          {
            "name": "pasteChars",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 2,
              "maximum": 100000
            },
            "description": "Input of at least this many characters within 100 ms is a paste (default BERTH_ANALYSIS_PASTE_CHARS, 20)"
          },
          {
            "name": "idleSeconds",
            "in": "query",
            "required": false,
            "schema": {
              "type": "number",
              "minimum": 0.5,
              "maximum": 86400
            },
            "description": "A gap of at least this many seconds without output, input or resize is idle (default BERTH_ANALYSIS_IDLE, 30)"
          }
        ],
        "responses": {
          "200": {
            "description": "The analysis",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RecordingAnalysis"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          }
        }
      }
    },
    "/api/v1/audit": {
      "get": {
        "summary": "The audit log (admin): every change, every read of a recording or of this log, every terminal connection and every refused token (20 a minute per address one by one; past that counted, in one audit.refusals_counted entry per address and minute)",
        "operationId": "listAudit",
        "tags": [
          "audit"
        ],
        "parameters": [
          {
            "name": "user",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only this actor's entries (a user id, or system)"
          },
          {
            "name": "action",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only entries whose action contains this text"
          },
          {
            "name": "target",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only entries about this target id"
          },
          {
            "name": "since",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "description": "At or after this time (ISO-8601)"
          },
          {
            "name": "until",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "format": "date-time"
            },
            "description": "Before this time (ISO-8601)"
          },
          {
            "name": "after",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 0
            },
            "description": "Entries after this sequence (descending order: before it); pass nextAfter to read on"
          },
          {
            "name": "order",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "enum": [
                "asc",
                "desc"
              ]
            },
            "description": "asc (default, oldest first) or desc"
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000
            },
            "description": "1-1000, default 100"
          }
        ],
        "responses": {
          "200": {
            "description": "A page of entries",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "required": [
                    "items"
                  ],
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/AuditEntry"
                      }
                    },
                    "nextAfter": {
                      "type": "integer",
                      "nullable": true,
                      "description": "The cursor for the next page; missing when this page was not full"
                    }
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          }
        }
      }
    },
    "/api/v1/audit/verify": {
      "get": {
        "summary": "Check the whole audit chain (admin); the head is signed with the server's Ed25519 key",
        "operationId": "verifyAudit",
        "tags": [
          "audit"
        ],
        "responses": {
          "200": {
            "description": "The result (valid is false when an entry was edited, removed or reordered)",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "required": [
                    "valid",
                    "entries",
                    "publicKey"
                  ],
                  "properties": {
                    "valid": {
                      "type": "boolean"
                    },
                    "entries": {
                      "type": "integer"
                    },
                    "headSequence": {
                      "type": "integer"
                    },
                    "headHash": {
                      "type": "string"
                    },
                    "problem": {
                      "type": "object",
                      "properties": {
                        "sequence": {
                          "type": "integer"
                        },
                        "problem": {
                          "type": "string"
                        }
                      }
                    },
                    "headSignature": {
                      "type": "string",
                      "description": "Base64 Ed25519 signature of `berth-audit-v1 head <headSequence> <headHash>`"
                    },
                    "publicKey": {
                      "type": "string",
                      "description": "The same key as GET /api/v1/recordings/public-key"
                    }
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          }
        }
      }
    },
    "/recordings": {
      "get": {
        "summary": "Recordings page (HTML, admin): filter, play, download, verify, delete",
        "operationId": "recordingsPage",
        "tags": [
          "pages"
        ],
        "security": [],
        "responses": {
          "200": {
            "description": "HTML page",
            "content": {
              "text/html": {
                "schema": {
                  "type": "string"
                }
              }
            }
          }
        }
      }
    },
    "/recordings/{id}": {
      "get": {
        "summary": "Recording player (HTML, xterm.js): play, pause, speed, seek, markers, idle compression, analysis, live follow",
        "operationId": "playerPage",
        "tags": [
          "pages"
        ],
        "security": [],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Recording id"
          }
        ],
        "responses": {
          "200": {
            "description": "HTML page",
            "content": {
              "text/html": {
                "schema": {
                  "type": "string"
                }
              }
            }
          }
        }
      }
    },
    "/api/v1/session": {
      "get": {
        "summary": "Who is signed in (null for a visitor), the CSRF token (sets the berth_csrf cookie) and what the pages may offer",
        "operationId": "getSession",
        "tags": [
          "accounts"
        ],
        "responses": {
          "200": {
            "description": "The session",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Session"
                }
              }
            }
          }
        },
        "security": []
      }
    },
    "/api/v1/auth/register": {
      "post": {
        "summary": "Register a player with a password and sign in",
        "operationId": "register",
        "tags": [
          "accounts"
        ],
        "parameters": [
          {
            "name": "X-CSRF-Token",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "With a session cookie (not with a bearer token): the csrfToken of GET /api/v1/session"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "name",
                  "password"
                ],
                "properties": {
                  "name": {
                    "type": "string"
                  },
                  "password": {
                    "type": "string"
                  }
                }
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "Signed in; sets the HttpOnly, SameSite=Lax session cookie `berth_session`",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "user": {
                      "$ref": "#/components/schemas/User"
                    }
                  }
                }
              }
            }
          },
          "403": {
            "description": "`registration_closed`, or `csrf_failed`",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "409": {
            "description": "`user_name_taken` (names are unique regardless of case)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "422": {
            "description": "`weak_password` (the message says why) or `invalid_name`",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "429": {
            "description": "`too_many_attempts`",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "security": []
      }
    },
    "/api/v1/auth/login": {
      "post": {
        "summary": "Sign in with a name and password",
        "operationId": "login",
        "tags": [
          "accounts"
        ],
        "parameters": [
          {
            "name": "X-CSRF-Token",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "With a session cookie (not with a bearer token): the csrfToken of GET /api/v1/session"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "name",
                  "password"
                ],
                "properties": {
                  "name": {
                    "type": "string"
                  },
                  "password": {
                    "type": "string"
                  }
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "Signed in; sets the HttpOnly, SameSite=Lax session cookie `berth_session`",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "user": {
                      "$ref": "#/components/schemas/User"
                    }
                  }
                }
              }
            }
          },
          "401": {
            "description": "`invalid_credentials`: wrong name or password (no hint which)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "403": {
            "description": "`csrf_failed`",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "429": {
            "description": "`too_many_attempts`: too many failures for this account at this address (BERTH_SIGN_IN_LIMIT, default 5 in 5 minutes), or from this address for any accounts (BERTH_SIGN_IN_ADDRESS_LIMIT, default 100 in 5 minutes)",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "security": []
      }
    },
    "/api/v1/auth/logout": {
      "post": {
        "summary": "Sign out: ends the session and clears its cookie",
        "operationId": "logout",
        "tags": [
          "accounts"
        ],
        "parameters": [
          {
            "name": "X-CSRF-Token",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "With a session cookie (not with a bearer token): the csrfToken of GET /api/v1/session"
          }
        ],
        "responses": {
          "204": {
            "description": "Signed out"
          },
          "403": {
            "description": "`csrf_failed`",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        },
        "security": []
      }
    },
    "/api/v1/me/password": {
      "put": {
        "summary": "Change your password (ends all your sessions)",
        "operationId": "changePassword",
        "tags": [
          "accounts"
        ],
        "parameters": [
          {
            "name": "X-CSRF-Token",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "With a session cookie (not with a bearer token): the csrfToken of GET /api/v1/session"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "current",
                  "new"
                ],
                "properties": {
                  "current": {
                    "type": "string"
                  },
                  "new": {
                    "type": "string"
                  }
                }
              }
            }
          }
        },
        "responses": {
          "204": {
            "description": "Changed"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "422": {
            "description": "`weak_password`",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/api/v1/me/tokens": {
      "get": {
        "summary": "Your personal API tokens (no secrets)",
        "operationId": "listMyTokens",
        "tags": [
          "accounts"
        ],
        "responses": {
          "200": {
            "description": "Tokens",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "type": "object",
                        "properties": {
                          "id": {
                            "type": "string"
                          },
                          "name": {
                            "type": "string"
                          },
                          "createdAt": {
                            "type": "string",
                            "format": "date-time"
                          }
                        }
                      }
                    }
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          }
        }
      },
      "post": {
        "summary": "Create a personal API token; its secret is shown once",
        "operationId": "createMyToken",
        "tags": [
          "accounts"
        ],
        "parameters": [
          {
            "name": "X-CSRF-Token",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "With a session cookie (not with a bearer token): the csrfToken of GET /api/v1/session"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "name"
                ],
                "properties": {
                  "name": {
                    "type": "string"
                  }
                }
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The token",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/IssuedToken"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "422": {
            "$ref": "#/components/responses/E422"
          }
        }
      }
    },
    "/api/v1/me/tokens/{id}": {
      "delete": {
        "summary": "Revoke one of your tokens",
        "operationId": "deleteMyToken",
        "tags": [
          "accounts"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Token id"
          },
          {
            "name": "X-CSRF-Token",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "With a session cookie (not with a bearer token): the csrfToken of GET /api/v1/session"
          }
        ],
        "responses": {
          "204": {
            "description": "Revoked"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          }
        }
      }
    },
    "/api/v1/me/team": {
      "get": {
        "summary": "Your team with its invite code, or null",
        "operationId": "getMyTeam",
        "tags": [
          "accounts"
        ],
        "responses": {
          "200": {
            "description": "Your team",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "required": [
                    "team"
                  ],
                  "properties": {
                    "team": {
                      "allOf": [
                        {
                          "$ref": "#/components/schemas/MyTeam"
                        }
                      ],
                      "nullable": true
                    }
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          }
        }
      },
      "post": {
        "summary": "Create a team and join it",
        "operationId": "createMyTeam",
        "tags": [
          "accounts"
        ],
        "parameters": [
          {
            "name": "X-CSRF-Token",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "With a session cookie (not with a bearer token): the csrfToken of GET /api/v1/session"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "name"
                ],
                "properties": {
                  "name": {
                    "type": "string"
                  }
                }
              }
            }
          }
        },
        "responses": {
          "201": {
            "description": "The team",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/MyTeam"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          },
          "422": {
            "$ref": "#/components/responses/E422"
          }
        }
      },
      "delete": {
        "summary": "Leave your team",
        "operationId": "leaveMyTeam",
        "tags": [
          "accounts"
        ],
        "parameters": [
          {
            "name": "X-CSRF-Token",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "With a session cookie (not with a bearer token): the csrfToken of GET /api/v1/session"
          }
        ],
        "responses": {
          "204": {
            "description": "Left"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          }
        }
      }
    },
    "/api/v1/me/team/join": {
      "post": {
        "summary": "Join a team with its invite code",
        "operationId": "joinTeam",
        "tags": [
          "accounts"
        ],
        "parameters": [
          {
            "name": "X-CSRF-Token",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "With a session cookie (not with a bearer token): the csrfToken of GET /api/v1/session"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "inviteCode"
                ],
                "properties": {
                  "inviteCode": {
                    "type": "string"
                  }
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The team",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/MyTeam"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          }
        }
      }
    },
    "/api/v1/environments/{slug}/submissions": {
      "post": {
        "summary": "Submit a flag (every submission is stored; 10 per minute per user and environment)",
        "operationId": "submitFlag",
        "tags": [
          "play"
        ],
        "parameters": [
          {
            "name": "slug",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Environment slug"
          },
          {
            "name": "X-CSRF-Token",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "With a session cookie (not with a bearer token): the csrfToken of GET /api/v1/session"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "flag"
                ],
                "properties": {
                  "flag": {
                    "type": "string"
                  }
                }
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The result",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/SubmissionResult"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "403": {
            "description": "`environment_disabled`, `environment_locked` (prerequisites unsolved), `attempts_exhausted` (the `attempts` limit is reached; stored as such) or `csrf_failed`",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "409": {
            "description": "`team_required` in team mode",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "422": {
            "description": "`invalid_flag` (empty or over 1024 characters) or `no_flag`",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          },
          "429": {
            "description": "`too_many_submissions`",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/api/v1/environments/{slug}/hints/{index}/unlock": {
      "post": {
        "summary": "Unlock a hint at its cost",
        "operationId": "unlockHint",
        "tags": [
          "play"
        ],
        "parameters": [
          {
            "name": "slug",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Environment slug"
          },
          {
            "name": "index",
            "in": "path",
            "required": true,
            "schema": {
              "type": "integer"
            },
            "description": "Hint number from 0"
          },
          {
            "name": "X-CSRF-Token",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "With a session cookie (not with a bearer token): the csrfToken of GET /api/v1/session"
          }
        ],
        "responses": {
          "200": {
            "description": "The hint",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "index": {
                      "type": "integer"
                    },
                    "cost": {
                      "type": "integer"
                    },
                    "content": {
                      "type": "string"
                    }
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "409": {
            "$ref": "#/components/responses/E409"
          }
        }
      }
    },
    "/api/v1/scoreboard": {
      "get": {
        "summary": "The scoreboard: users or teams (team assignment mode) with a solve, ranked by points, then by who got there first",
        "operationId": "getScoreboard",
        "tags": [
          "play"
        ],
        "responses": {
          "200": {
            "description": "The scoreboard",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "mode": {
                      "type": "string",
                      "enum": [
                        "users",
                        "teams"
                      ]
                    },
                    "entries": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/ScoreboardEntry"
                      }
                    }
                  }
                }
              }
            }
          }
        },
        "security": []
      }
    },
    "/api/v1/admin/settings": {
      "get": {
        "summary": "Settings stored in the database (admin)",
        "operationId": "getSettings",
        "tags": [
          "admin"
        ],
        "responses": {
          "200": {
            "description": "The settings in force",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Settings"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          }
        }
      },
      "put": {
        "summary": "Change settings without a restart (admin); only the fields sent change, null clears optional ones",
        "operationId": "updateSettings",
        "tags": [
          "admin"
        ],
        "parameters": [
          {
            "name": "X-CSRF-Token",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "With a session cookie (not with a bearer token): the csrfToken of GET /api/v1/session"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/Settings"
              }
            }
          }
        },
        "responses": {
          "200": {
            "description": "The settings in force",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Settings"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "422": {
            "description": "`invalid_setting`",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/api/v1/admin/environments": {
      "get": {
        "summary": "Environments with their status, image and activity (admin)",
        "operationId": "adminEnvironments",
        "tags": [
          "admin"
        ],
        "responses": {
          "200": {
            "description": "Environments",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/AdminEnvironment"
                      }
                    },
                    "problems": {
                      "type": "array",
                      "description": "Errors and warnings of the last catalog load, as file, field and reason; folders with errors are not in items",
                      "items": {
                        "type": "object",
                        "properties": {
                          "file": {"type": "string"},
                          "field": {"type": "string"},
                          "reason": {"type": "string"},
                          "severity": {"type": "string", "enum": ["error", "warning"]}
                        }
                      }
                    }
                  }
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          }
        }
      }
    },
    "/api/v1/admin/environments/{slug}/enable": {
      "post": {
        "summary": "Switch an environment on for players (admin)",
        "operationId": "enableEnvironment",
        "tags": [
          "admin"
        ],
        "parameters": [
          {
            "name": "slug",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Environment slug"
          },
          {
            "name": "X-CSRF-Token",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "With a session cookie (not with a bearer token): the csrfToken of GET /api/v1/session"
          }
        ],
        "responses": {
          "200": {
            "description": "The environment",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/AdminEnvironment"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          }
        }
      }
    },
    "/api/v1/admin/environments/{slug}/disable": {
      "post": {
        "summary": "Switch an environment off for players (running instances go on) (admin)",
        "operationId": "disableEnvironment",
        "tags": [
          "admin"
        ],
        "parameters": [
          {
            "name": "slug",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Environment slug"
          },
          {
            "name": "X-CSRF-Token",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "With a session cookie (not with a bearer token): the csrfToken of GET /api/v1/session"
          }
        ],
        "responses": {
          "200": {
            "description": "The environment",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/AdminEnvironment"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          }
        }
      }
    },
    "/api/v1/admin/environments/{slug}/build": {
      "post": {
        "summary": "Build an environment's image, streaming progress (admin); tagged berth-env/<slug>:<hash of the build context>, and new instances start from that image's id",
        "operationId": "buildEnvironment",
        "tags": [
          "admin"
        ],
        "parameters": [
          {
            "name": "slug",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Environment slug"
          },
          {
            "name": "X-CSRF-Token",
            "in": "header",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "With a session cookie (not with a bearer token): the csrfToken of GET /api/v1/session"
          }
        ],
        "responses": {
          "200": {
            "description": "JSON lines: {\"progress\":text}…, then {\"done\":true,\"image\":id} or {\"error\":{\"code\",\"message\"}}",
            "content": {
              "application/x-ndjson": {
                "schema": {
                  "type": "string"
                }
              }
            }
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "422": {
            "$ref": "#/components/responses/E422"
          }
        }
      }
    },
    "/api/v1/admin/submissions": {
      "get": {
        "summary": "Flag submissions, newest first (admin); `outcome=shared` lists likely flag sharing",
        "operationId": "adminSubmissions",
        "tags": [
          "admin"
        ],
        "parameters": [
          {
            "name": "environment",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only this environment's"
          },
          {
            "name": "user",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            },
            "description": "Only this user's"
          },
          {
            "name": "outcome",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string",
              "enum": [
                "correct",
                "incorrect",
                "already_solved",
                "shared",
                "rate_limited"
              ]
            },
            "description": "Only this outcome"
          },
          {
            "name": "limit",
            "in": "query",
            "required": false,
            "schema": {
              "type": "integer",
              "minimum": 1,
              "maximum": 1000
            },
            "description": "1-1000, default 100"
          }
        ],
        "responses": {
          "200": {
            "description": "Submissions",
            "content": {
              "application/json": {
                "schema": {
                  "type": "object",
                  "properties": {
                    "items": {
                      "type": "array",
                      "items": {
                        "$ref": "#/components/schemas/Submission"
                      }
                    }
                  }
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/E400"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          }
        }
      }
    },
    "/login": {
      "get": {
        "summary": "Sign in and register (HTML)",
        "operationId": "loginPage",
        "tags": [
          "pages"
        ],
        "security": [],
        "responses": {
          "200": {
            "description": "HTML page",
            "content": {
              "text/html": {
                "schema": {
                  "type": "string"
                }
              }
            }
          }
        }
      }
    },
    "/scoreboard": {
      "get": {
        "summary": "Scoreboard (HTML)",
        "operationId": "scoreboardPage",
        "tags": [
          "pages"
        ],
        "security": [],
        "responses": {
          "200": {
            "description": "HTML page",
            "content": {
              "text/html": {
                "schema": {
                  "type": "string"
                }
              }
            }
          }
        }
      }
    },
    "/team": {
      "get": {
        "summary": "Your team: create, join with an invite code, leave (HTML)",
        "operationId": "teamPage",
        "tags": [
          "pages"
        ],
        "security": [],
        "responses": {
          "200": {
            "description": "HTML page",
            "content": {
              "text/html": {
                "schema": {
                  "type": "string"
                }
              }
            }
          }
        }
      }
    },
    "/account": {
      "get": {
        "summary": "Your personal API tokens and password (HTML)",
        "operationId": "accountPage",
        "tags": [
          "pages"
        ],
        "security": [],
        "responses": {
          "200": {
            "description": "HTML page",
            "content": {
              "text/html": {
                "schema": {
                  "type": "string"
                }
              }
            }
          }
        }
      }
    },
    "/admin": {
      "get": {
        "summary": "Admin console (HTML): environments, instances, users and teams, submissions, settings, audit log",
        "operationId": "adminPage",
        "tags": [
          "pages"
        ],
        "security": [],
        "responses": {
          "200": {
            "description": "HTML page",
            "content": {
              "text/html": {
                "schema": {
                  "type": "string"
                }
              }
            }
          }
        }
      }
    },
    "/environments/{slug}": {
      "get": {
        "summary": "An environment: description, hints, Start/Renew/Reset/Stop, connection info, terminal and flag form (HTML)",
        "operationId": "environmentPage",
        "tags": [
          "pages"
        ],
        "security": [],
        "parameters": [
          {
            "name": "slug",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "Environment slug"
          }
        ],
        "responses": {
          "200": {
            "description": "HTML page",
            "content": {
              "text/html": {
                "schema": {
                  "type": "string"
                }
              }
            }
          }
        }
      }
    },
    "/auth/github": {
      "get": {
        "summary": "Start signing in with GitHub: redirects to GitHub's authorize page with a random state (kept in a 10-minute cookie)",
        "operationId": "githubSignIn",
        "tags": [
          "accounts"
        ],
        "security": [],
        "responses": {
          "302": {
            "description": "To GitHub (BERTH_GITHUB_URL)/login/oauth/authorize"
          },
          "404": {
            "description": "`github_not_configured`: BERTH_GITHUB_CLIENT_ID and BERTH_GITHUB_CLIENT_SECRET are not set",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    },
    "/auth/github/callback": {
      "get": {
        "summary": "GitHub's redirect back: checks the state, trades the code for a token, reads the account, signs in the linked user (creating one while registration is open)",
        "operationId": "githubCallback",
        "tags": [
          "accounts"
        ],
        "security": [],
        "parameters": [
          {
            "name": "code",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "name": "state",
            "in": "query",
            "required": false,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "302": {
            "description": "To / with the session cookie, or to /login#error=<code> (github_state_mismatch, github_code_rejected, github_denied, github_unavailable, registration_closed)"
          }
        }
      }
    },
    "/api/v1/users/{id}/password": {
      "put": {
        "summary": "Set a user's password (admin), for example after they forgot it; their sessions end",
        "operationId": "setUserPassword",
        "tags": [
          "users"
        ],
        "parameters": [
          {
            "name": "id",
            "in": "path",
            "required": true,
            "schema": {
              "type": "string"
            },
            "description": "User id"
          }
        ],
        "requestBody": {
          "required": true,
          "content": {
            "application/json": {
              "schema": {
                "type": "object",
                "required": [
                  "password"
                ],
                "properties": {
                  "password": {
                    "type": "string"
                  }
                }
              }
            }
          }
        },
        "responses": {
          "204": {
            "description": "Set"
          },
          "401": {
            "$ref": "#/components/responses/E401"
          },
          "403": {
            "$ref": "#/components/responses/E403"
          },
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "422": {
            "description": "`weak_password`",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            }
          }
        }
      }
    }
  },
  "tags": [
    {
      "name": "accounts",
      "description": "Sign-up, sign-in, sessions, personal tokens and teams"
    },
    {
      "name": "play",
      "description": "Catalog with points, flags, hints and the scoreboard"
    },
    {
      "name": "admin",
      "description": "The admin console's settings, environments and submissions"
    }
  ]
}
"""#
}

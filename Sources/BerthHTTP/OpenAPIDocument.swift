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
    }
  ],
  "components": {
    "securitySchemes": {
      "bearer": {
        "type": "http",
        "scheme": "bearer"
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
            "description": "Why it failed, stopped or expired"
          }
        }
      },
      "Environment": {
        "type": "object",
        "required": [
          "slug",
          "name",
          "image",
          "network"
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
            "type": "string"
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
        "description": "Conflicts with the current state (instance_exists, instance_not_running, instance_not_active, instance_busy, renewal_limit_reached, max_lifetime_reached, image_not_built, team_required, user_name_taken, team_name_taken, already_member)",
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
        "summary": "Readiness: the store and the engine answer",
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
            "description": "Environments, sorted by slug",
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
                        "$ref": "#/components/schemas/Environment"
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
            "description": "The environment",
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Environment"
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
          "404": {
            "$ref": "#/components/responses/E404"
          },
          "409": {
            "$ref": "#/components/responses/E409"
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
        "summary": "The caller's instances (all instances for an admin), newest first",
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
        "summary": "Extend the expiry to now + TTL, never past the maximum lifetime",
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
        "summary": "Replace the container with a fresh one; id, expiry and renewals stay",
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
        "summary": "The terminal WebSocket (see docs/terminal-protocol.md). Binary frames carry PTY bytes both ways; text frames carry JSON control messages. Authenticated by the ticket, not a bearer token; the Origin must be allowed.",
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
        "summary": "Start page (HTML): environments and the caller's instances, using a token kept in the browser",
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
        "summary": "The audit log (admin): every change, every read of a recording or of this log, every terminal connection and every refused token",
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
    }
  }
}
"""#
}

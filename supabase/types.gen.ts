
export type Json = string | number | boolean | null | { [key: string]: Json | undefined } | Json[]

export type Database = {
  
  "gateway": {
          Tables: {
            [_ in never]: never
          }
          Views: {
            [_ in never]: never
          }
          Functions: {
            "accept_invitation":
{ Args: { "p_email": string,"p_token_hash": string,"p_user": string }; Returns: {
              "created_at": string,"id": string,"name": string,"plan_id": string,"role": string
            }[]
                           },
"advance_emergency_key_cleanups":
{ Args: Record<PropertyKey, never>; Returns: number
                           },
"advance_message_status":
{ Args: { "p_agent": string,"p_connector": string,"p_epoch": number,"p_updates": Json }; Returns: number
                           },
"api_call":
{ Args: { "p_agent": string,"p_owner": string }; Returns: Database["public"]['Tables']["agents"]['Row']
                          SetofOptions: {
        from: "*"
        to: "agents"
        isOneToOne: true
        isSetofReturn: false
      } },
"api_content_policy":
{ Args: { "p_owner": string }; Returns: {
              "policy": string,"updated_at": string
            }[]
                           },
"api_key_for_prefix":
{ Args: { "p_hash": string,"p_prefix": string }; Returns: {
              "agent_id": string,"id": string,"key_hash": string,"owner_id": string,"scopes": (string)[],"usable": boolean
            }[]
                           },
"api_read":
{ Args: { "p_agent": string,"p_owner": string }; Returns: Database["public"]['Tables']["agents"]['Row']
                          SetofOptions: {
        from: "*"
        to: "agents"
        isOneToOne: true
        isSetofReturn: false
      } },
"api_redeliver":
{ Args: { "p_capacity"?: number,"p_delivery": string,"p_endpoint": string,"p_owner": string,"p_window_seconds"?: number }; Returns: {
              "id": string,"rate_limit": number,"rate_remaining": number,"rate_reset_seconds": number,"status": string
            }[]
                           },
"api_rename_agent":
{ Args: { "p_agent": string,"p_capacity"?: number,"p_name": string,"p_owner": string,"p_window_seconds"?: number }; Returns: {
              "agent": Database["public"]['Tables']["agents"]['Row'],"rate_limit": number,"rate_remaining": number,"rate_reset_seconds": number
            }[]
                           },
"api_request_link":
{ Args: { "p_agent": string,"p_capacity"?: number,"p_method": string,"p_owner": string,"p_phone"?: string,"p_window_seconds"?: number }; Returns: {
              "agent_id": string,"desired_state": string,"link_method": string,"link_requested_at": string,"rate_limit": number,"rate_remaining": number,"rate_reset_seconds": number,"status": string
            }[]
                           },
"api_rotate_webhook_secret":
{ Args: { "p_capacity"?: number,"p_ciphertext": string,"p_endpoint": string,"p_key_version": number,"p_overlap_seconds"?: number,"p_owner": string,"p_window_seconds"?: number }; Returns: {
              "previous_expires_at": string,"rate_limit": number,"rate_remaining": number,"rate_reset_seconds": number
            }[]
                           },
"api_send":
{ Args: { "p_agent": string,"p_content": Json,"p_id"?: string,"p_idempotency_key"?: string,"p_owner": string,"p_recipient": string,"p_request_hash"?: string,"p_type": string }; Returns: {
              "created_at": string,"id": string,"rate_limit": number,"rate_remaining": number,"rate_reset_seconds": number,"replayed": boolean,"status": string,"wa_message_id": string
            }[]
                           },
"api_send_as_member":
{ Args: { "p_agent": string,"p_content": Json,"p_idempotency_key"?: string,"p_organisation": string,"p_recipient": string,"p_request_hash"?: string,"p_type": string,"p_user": string }; Returns: {
              "created_at": string,"id": string,"outcome": string,"owner_id": string,"rate_limit": number,"rate_remaining": number,"rate_reset_seconds": number,"replayed": boolean,"status": string,"wa_message_id": string
            }[]
                           },
"api_send_with_key":
{ Args: { "p_agent": string,"p_content": Json,"p_idempotency_key"?: string,"p_key_hash": string,"p_organisation": string,"p_prefix": string,"p_recipient": string,"p_request_hash"?: string,"p_type": string }; Returns: {
              "created_at": string,"id": string,"outcome": string,"owner_id": string,"rate_limit": number,"rate_remaining": number,"rate_reset_seconds": number,"replayed": boolean,"status": string,"wa_message_id": string
            }[]
                           },
"api_session_command":
{ Args: { "p_agent": string,"p_capacity"?: number,"p_command": string,"p_force"?: boolean,"p_owner": string,"p_window_seconds"?: number }; Returns: {
              "rate_limit": number,"rate_remaining": number,"rate_reset_seconds": number,"session": Database["public"]['Tables']["whatsapp_sessions"]['Row']
            }[]
                           },
"api_set_content_policy":
{ Args: { "p_owner": string,"p_policy": string }; Returns: {
              "policy": string,"updated_at": string
            }[]
                           },
"api_test_webhook":
{ Args: { "p_capacity"?: number,"p_endpoint": string,"p_owner": string,"p_window_seconds"?: number }; Returns: {
              "delivery_id": string,"event_id": string,"rate_limit": number,"rate_remaining": number,"rate_reset_seconds": number
            }[]
                           },
"apply_retention":
{ Args: { "p_event_days"?: number,"p_message_days"?: number }; Returns: {
              "bodies_cleared": number,"events": number,"inbound": number,"messages": number,"number_checks": number
            }[]
                           },
"as_actor":
{ Args: { "p_actor": Json,"p_owner": string }; Returns: string
                           },
"assert_lease":
{ Args: { "p_agent": string,"p_connector": string,"p_epoch": number }; Returns: Database["public"]['Tables']["whatsapp_sessions"]['Row']
                          SetofOptions: {
        from: "*"
        to: "whatsapp_sessions"
        isOneToOne: true
        isSetofReturn: false
      } },
"change_member_role":
{ Args: { "p_actor_role": string,"p_org": string,"p_role": string,"p_user": string }; Returns: {
              "created_at": string,"email": string,"role": string,"user_id": string
            }[]
                           },
"claim_alert_emails":
{ Args: { "p_connector": string,"p_limit"?: number,"p_visibility_seconds"?: number }; Returns: {
              "agent_id": string,"agent_name": string,"attempts": number,"event_created_at": string,"event_id": string,"event_type": string,"id": string,"max_attempts": number,"payload": Json,"phone_number": string,"recipient": string,"severity": string
            }[]
                           },
"claim_deliveries":
{ Args: { "p_connector": string,"p_limit"?: number,"p_per_endpoint"?: number,"p_visibility_seconds"?: number }; Returns: {
              "agent_id": string,"attempts": number,"delivery_id": string,"endpoint_id": string,"event_created_at": string,"event_id": string,"event_type": string,"max_attempts": number,"payload": Json,"previous_ciphertext": string,"previous_key_version": number,"secret_ciphertext": string,"secret_key_version": number,"url": string
            }[]
                           },
"claim_messages":
{ Args: { "p_agents"?: (string)[],"p_connector": string,"p_limit"?: number,"p_max_bytes"?: number,"p_visibility_seconds"?: number }; Returns: {
              "agent_id": string,"attempts": number,"content": Json,"created_at": string,"id": string,"lease_epoch": number,"max_attempts": number,"recipient": string,"type": string,"wa_message_id": string
            }[]
                           },
"claim_number_checks":
{ Args: { "p_agents": (string)[],"p_connector": string,"p_limit"?: number,"p_visibility_seconds"?: number }; Returns: {
              "agent_id": string,"id": string,"lease_epoch": number,"numbers": (string)[]
            }[]
                           },
"claim_session":
{ Args: { "p_agent": string,"p_connector": string,"p_lease_seconds"?: number }; Returns: {
              "agent_id": string,"lease_epoch": number,"taken_over_from": string
            }[]
                           },
"claim_sessions":
{ Args: { "p_connector": string,"p_key_versions"?: (number)[],"p_lease_seconds"?: number,"p_limit": number,"p_skip"?: (string)[] }; Returns: {
              "agent_id": string,"lease_epoch": number,"taken_over_from": string
            }[]
                           },
"claim_unused_media":
{ Args: { "p_grace_seconds"?: number,"p_limit"?: number }; Returns: {
              "key": string
            }[]
                           },
"complete_alert_emails":
{ Args: { "p_connector": string,"p_results": Json }; Returns: number
                           },
"complete_deliveries":
{ Args: { "p_connector": string,"p_results": Json }; Returns: number
                           },
"complete_messages":
{ Args: { "p_agent": string,"p_connector": string,"p_epoch": number,"p_results": Json }; Returns: {
              "id": string,"status": string
            }[]
                           },
"complete_number_check":
{ Args: { "p_agent": string,"p_check": string,"p_connector": string,"p_epoch": number,"p_error"?: string,"p_result": Json }; Returns: boolean
                           },
"configure_alert_emails":
{ Args: { "p_connector": string,"p_event_types": (string)[],"p_owners": boolean,"p_recipients": (string)[] }; Returns: undefined
                           },
"connector_cannot_open":
{ Args: { "p_agent": string,"p_connector": string }; Returns: undefined
                           },
"content_encryption_in_use":
{ Args: Record<PropertyKey, never>; Returns: boolean
                           },
"content_policy_of_agent":
{ Args: { "p_agent": string }; Returns: string
                           },
"count_api_call":
{ Args: { "p_agent": string,"p_owner": string }; Returns: undefined
                           },
"create_agent":
{ Args: { "p_name": string,"p_owner": string }; Returns: Database["public"]['Tables']["agents"]['Row']
                          SetofOptions: {
        from: "*"
        to: "agents"
        isOneToOne: true
        isSetofReturn: false
      } },
"create_api_key":
{ Args: { "p_agent": string,"p_capacity"?: number,"p_expires_at"?: string,"p_hash": string,"p_max_active"?: number,"p_name": string,"p_owner": string,"p_prefix": string,"p_scopes": (string)[],"p_window_seconds"?: number }; Returns: {
              "agent_id": string,"created_at": string,"expires_at": string,"id": string,"name": string,"prefix": string,"rate_limit": number,"rate_remaining": number,"rate_reset_seconds": number,"scopes": (string)[]
            }[]
                           },
"create_invitation":
{ Args: { "p_actor": string,"p_actor_role": string,"p_email": string,"p_max_open": number,"p_org": string,"p_role": string,"p_token_hash": string,"p_ttl_seconds": number }; Returns: {
              "created_at": string,"email": string,"expires_at": string,"id": string,"role": string
            }[]
                           },
"create_number_check":
{ Args: { "p_agent": string,"p_capacity"?: number,"p_numbers": (string)[],"p_owner": string,"p_window_seconds"?: number }; Returns: {
              "created_at": string,"id": string,"rate_limit": number,"rate_remaining": number,"rate_reset_seconds": number,"status": string
            }[]
                           },
"create_organisation":
{ Args: { "p_max_owned": number,"p_name": string,"p_user": string }; Returns: {
              "created_at": string,"id": string,"name": string,"plan_id": string,"role": string
            }[]
                           },
"create_webhook_endpoint":
{ Args: { "p_agent": string,"p_ciphertext": string,"p_description": string,"p_event_types": (string)[],"p_id": string,"p_key_version": number,"p_max_endpoints"?: number,"p_owner": string,"p_url": string }; Returns: Database["public"]['Tables']["webhook_endpoints"]['Row']
                          SetofOptions: {
        from: "*"
        to: "webhook_endpoints"
        isOneToOne: true
        isSetofReturn: false
      } },
"delete_agent":
{ Args: { "p_agent": string,"p_owner": string }; Returns: undefined
                           },
"delete_organisation":
{ Args: { "p_org": string }; Returns: undefined
                           },
"delete_webhook_endpoint":
{ Args: { "p_id": string,"p_owner": string }; Returns: undefined
                           },
"emit_event":
{ Args: { "p_agent": string,"p_owner": string,"p_payload"?: Json,"p_severity"?: string,"p_type": string }; Returns: string
                           },
"enqueue_message":
{ Args: { "p_agent": string,"p_content": Json,"p_count_api_call"?: boolean,"p_id"?: string,"p_idempotency_key"?: string,"p_owner": string,"p_recipient": string,"p_request_hash"?: string,"p_type": string }; Returns: {
              "created_at": string,"id": string,"rate_limit": number,"rate_remaining": number,"rate_reset_seconds": number,"replayed": boolean,"status": string,"wa_message_id": string
            }[]
                           },
"ensure_account":
{ Args: { "p_user_id": string }; Returns: Database["public"]['Views']["accounts"]['Row']
                          SetofOptions: {
        from: "*"
        to: "accounts"
        isOneToOne: true
        isSetofReturn: false
      } },
"erase_data_subject":
{ Args: { "p_agent"?: string,"p_capacity"?: number,"p_contact": string,"p_owner": string,"p_requested_by": string,"p_window_seconds"?: number }; Returns: {
              "counts": Json,"media_keys": (string)[],"rate_limit": number,"rate_remaining": number,"rate_reset_seconds": number,"request_id": string
            }[]
                           },
"export_data_subject":
{ Args: { "p_agent"?: string,"p_capacity"?: number,"p_contact": string,"p_owner": string,"p_requested_by": string,"p_window_seconds"?: number }; Returns: {
              "counts": Json,"document": Json,"rate_limit": number,"rate_remaining": number,"rate_reset_seconds": number,"request_id": string
            }[]
                           },
"fail":
{ Args: { "p_code": string,"p_detail"?: string,"p_message": string }; Returns: undefined
                           },
"flag_inactive_sessions":
{ Args: { "p_days"?: number }; Returns: number
                           },
"forget_media":
{ Args: { "p_keys": (string)[] }; Returns: number
                           },
"get_signal_keys":
{ Args: { "p_agent": string,"p_connector": string,"p_epoch": number,"p_key_ids": (string)[],"p_key_type": string }; Returns: {
              "ciphertext": string,"key_id": string,"key_version": number
            }[]
                           },
"list_api_keys":
{ Args: { "p_owner": string }; Returns: {
              "agent_id": string,"created_at": string,"expires_at": string,"id": string,"last_used_at": string,"name": string,"prefix": string,"revoked_at": string,"scopes": (string)[]
            }[]
                           },
"list_audit_log":
{ Args: { "p_actions"?: (string)[],"p_actor_type"?: string,"p_agent"?: string,"p_before_created_at"?: string,"p_before_id"?: string,"p_limit"?: number,"p_owner": string,"p_since"?: string,"p_until"?: string }; Returns: Database["public"]['Tables']["audit_log"]['Row'][]
                          SetofOptions: {
        from: "*"
        to: "audit_log"
        isOneToOne: false
        isSetofReturn: true
      } },
"list_invitations":
{ Args: { "p_org": string }; Returns: {
              "accepted_at": string,"created_at": string,"email": string,"expires_at": string,"id": string,"invited_by": string,"revoked_at": string,"role": string
            }[]
                           },
"list_members":
{ Args: { "p_org": string }; Returns: {
              "created_at": string,"email": string,"role": string,"user_id": string
            }[]
                           },
"list_my_organisations":
{ Args: { "p_user": string }; Returns: {
              "created_at": string,"id": string,"name": string,"plan_id": string,"role": string
            }[]
                           },
"list_webhook_deliveries":
{ Args: { "p_before_created_at"?: string,"p_before_id"?: string,"p_endpoint": string,"p_limit"?: number,"p_owner": string }; Returns: {
              "attempts": number,"created_at": string,"delivered_at": string,"event_id": string,"event_type": string,"id": string,"last_attempt_at": string,"last_error": string,"last_status_code": number,"max_attempts": number,"next_attempt_at": string,"status": string
            }[]
                           },
"load_creds":
{ Args: { "p_agent": string,"p_connector": string,"p_epoch": number }; Returns: {
              "ciphertext": string,"key_version": number
            }[]
                           },
"member_role":
{ Args: { "p_org": string,"p_user": string }; Returns: string
                           },
"owned_agent":
{ Args: { "p_agent": string,"p_owner": string }; Returns: Database["public"]['Tables']["agents"]['Row']
                          SetofOptions: {
        from: "*"
        to: "agents"
        isOneToOne: true
        isSetofReturn: false
      } },
"prune_audit_log":
{ Args: { "p_days": number }; Returns: number
                           },
"prune_rate_limit_buckets":
{ Args: { "p_older_than"?: string }; Returns: number
                           },
"prune_signal_keys":
{ Args: { "p_agent": string,"p_min_age"?: string }; Returns: number
                           },
"purge_signal_key_backups":
{ Args: { "p_days": number }; Returns: number
                           },
"purge_signal_warning_counts":
{ Args: { "p_days": number }; Returns: number
                           },
"raise_session_alert":
{ Args: { "p_agent": string,"p_connector": string,"p_epoch": number,"p_payload": Json,"p_severity": string,"p_type": string }; Returns: string
                           },
"record_inbound":
{ Args: { "p_agent": string,"p_connector": string,"p_epoch": number,"p_messages": Json }; Returns: {
              "id": string,"wa_message_id": string
            }[]
                           },
"record_signal_warnings":
{ Args: { "p_counts": Json,"p_critical": number,"p_warn": number }; Returns: number
                           },
"redeliver":
{ Args: { "p_delivery": string,"p_owner": string }; Returns: Database["public"]['Tables']["webhook_deliveries"]['Row']
                          SetofOptions: {
        from: "*"
        to: "webhook_deliveries"
        isOneToOne: true
        isSetofReturn: false
      } },
"register_connector":
{ Args: { "p_capacity"?: number,"p_hostname": string,"p_id": string,"p_key_versions"?: (number)[],"p_lease_seconds"?: number,"p_pid": number,"p_version": string }; Returns: unknown
                          SetofOptions: {
        from: "*"
        to: "connectors"
        isOneToOne: true
        isSetofReturn: false
      } },
"register_media":
{ Args: { "p_key": string,"p_owner": string,"p_sha256": string,"p_size": number }; Returns: undefined
                           },
"release_messages":
{ Args: { "p_agent": string,"p_connector": string,"p_epoch": number,"p_ids": (string)[] }; Returns: number
                           },
"release_sessions":
{ Args: { "p_agents"?: (string)[],"p_connector": string }; Returns: number
                           },
"remove_member":
{ Args: { "p_actor_role": string,"p_org": string,"p_user": string }; Returns: undefined
                           },
"rename_organisation":
{ Args: { "p_name": string,"p_org": string }; Returns: Database["public"]['Tables']["organisations"]['Row'][]
                          SetofOptions: {
        from: "*"
        to: "organisations"
        isOneToOne: false
        isSetofReturn: true
      } },
"renew_leases":
{ Args: { "p_agents": (string)[],"p_connector": string,"p_epochs": (number)[],"p_lease_seconds"?: number }; Returns: {
              "agent_id": string,"command_force": boolean,"desired_state": string,"lease_epoch": number,"pending_command": string,"renewed": boolean
            }[]
                           },
"request_link":
{ Args: { "p_agent": string,"p_method": string,"p_owner": string,"p_phone"?: string }; Returns: Database["public"]['Tables']["whatsapp_sessions"]['Row']
                          SetofOptions: {
        from: "*"
        to: "whatsapp_sessions"
        isOneToOne: true
        isSetofReturn: false
      } },
"request_session_command":
{ Args: { "p_agent": string,"p_command": string,"p_force"?: boolean,"p_owner": string }; Returns: Database["public"]['Tables']["whatsapp_sessions"]['Row']
                          SetofOptions: {
        from: "*"
        to: "whatsapp_sessions"
        isOneToOne: true
        isSetofReturn: false
      } },
"revoke_api_key":
{ Args: { "p_key": string,"p_owner": string }; Returns: {
              "id": string,"revoked_at": string
            }[]
                           },
"revoke_invitation":
{ Args: { "p_id": string,"p_org": string }; Returns: undefined
                           },
"save_creds":
{ Args: { "p_agent": string,"p_ciphertext": string,"p_connector": string,"p_epoch": number,"p_key_version": number }; Returns: undefined
                           },
"session_sending_status":
{ Args: { "p_agent": string,"p_owner": string }; Returns: {
              "in_flight": number,"oldest_queued_at": string,"queued": number
            }[]
                           },
"session_share":
{ Args: { "p_connector": string,"p_held": number,"p_key_versions"?: (number)[],"p_live_seconds": number }; Returns: {
              "claim_limit": number,"live_connectors": number,"share": number,"target": number,"waiting": number,"wanting": number
            }[]
                           },
"signal_key_counts":
{ Args: { "p_agent"?: string }; Returns: {
              "agent_id": string,"key_count": number,"key_type": string
            }[]
                           },
"sweep_expired_leases":
{ Args: { "p_stale"?: string }; Returns: {
              "alerts": number,"released": number
            }[]
                           },
"take_token":
{ Args: { "p_capacity": number,"p_cost"?: number,"p_key": string,"p_refill_per_second": number }; Returns: {
              "allowed": boolean,"remaining": number,"reset_seconds": number,"retry_after_seconds": number
            }[]
                           },
"test_webhook_endpoint":
{ Args: { "p_id": string,"p_owner": string }; Returns: {
              "delivery_id": string,"event_id": string
            }[]
                           },
"update_session":
{ Args: { "p_agent": string,"p_connector": string,"p_epoch": number,"p_patch": Json }; Returns: Database["public"]['Tables']["whatsapp_sessions"]['Row']
                          SetofOptions: {
        from: "*"
        to: "whatsapp_sessions"
        isOneToOne: true
        isSetofReturn: false
      } },
"update_webhook_endpoint":
{ Args: { "p_id": string,"p_owner": string,"p_patch": Json }; Returns: Database["public"]['Tables']["webhook_endpoints"]['Row']
                          SetofOptions: {
        from: "*"
        to: "webhook_endpoints"
        isOneToOne: true
        isSetofReturn: false
      } },
"wipe_auth_state":
{ Args: { "p_agent": string,"p_connector": string,"p_epoch": number }; Returns: undefined
                           },
"write_signal_keys":
{ Args: { "p_agent": string,"p_ciphertexts": (string)[],"p_connector": string,"p_epoch": number,"p_key_ids": (string)[],"p_key_types": (string)[],"p_key_versions": (number)[] }; Returns: number
                           }
          }
          Enums: {
            [_ in never]: never
          }
          CompositeTypes: {
            [_ in never]: never
          }
        },"public": {
          Tables: {
            "agents": {
                  Row: {
                    "created_at": string,"disabled_at": string | null,"disabled_reason": string | null,"id": string,"name": string,"owner_id": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "created_at"?: string,"disabled_at"?: string | null,"disabled_reason"?: string | null,"id"?: string,"name": string,"owner_id": string,"updated_at"?: string
                  }
                  Update: {
                    "created_at"?: string,"disabled_at"?: string | null,"disabled_reason"?: string | null,"id"?: string,"name"?: string,"owner_id"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "agents_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: false
      referencedRelation: "accounts"
      referencedColumns: ["user_id"]
    },{
      foreignKeyName: "agents_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: false
      referencedRelation: "organisations"
      referencedColumns: ["id"]
    }
                  ]
                },"audit_log": {
                  Row: {
                    "action": string,"actor": string,"actor_type": string,"agent_id": string | null,"changes": NonNullable<Json>,"client_ip": string | null,"created_at": string,"id": string,"owner_id": string | null,"request_id": string | null,"target_id": string | null,"user_agent": string | null
                  }
                  ComputedFields: never
                  Insert: {
                    "action": string,"actor": string,"actor_type": string,"agent_id"?: string | null,"changes"?: NonNullable<Json>,"client_ip"?: string | null,"created_at"?: string,"id"?: string,"owner_id"?: string | null,"request_id"?: string | null,"target_id"?: string | null,"user_agent"?: string | null
                  }
                  Update: {
                    "action"?: string,"actor"?: string,"actor_type"?: string,"agent_id"?: string | null,"changes"?: NonNullable<Json>,"client_ip"?: string | null,"created_at"?: string,"id"?: string,"owner_id"?: string | null,"request_id"?: string | null,"target_id"?: string | null,"user_agent"?: string | null
                  }
                  Relationships: [
                    
                  ]
                },"content_policies": {
                  Row: {
                    "encrypted_at": string | null,"owner_id": string,"policy": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "encrypted_at"?: string | null,"owner_id": string,"policy"?: string,"updated_at"?: string
                  }
                  Update: {
                    "encrypted_at"?: string | null,"owner_id"?: string,"policy"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "content_policies_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: true
      referencedRelation: "accounts"
      referencedColumns: ["user_id"]
    },{
      foreignKeyName: "content_policies_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: true
      referencedRelation: "organisations"
      referencedColumns: ["id"]
    }
                  ]
                },"daily_stats": {
                  Row: {
                    "agent_id": string,"api_calls": number,"day": string,"delivered": number,"failed": number,"owner_id": string,"queued": number,"read": number,"received": number,"sent": number
                  }
                  ComputedFields: never
                  Insert: {
                    "agent_id": string,"api_calls"?: number,"day": string,"delivered"?: number,"failed"?: number,"owner_id": string,"queued"?: number,"read"?: number,"received"?: number,"sent"?: number
                  }
                  Update: {
                    "agent_id"?: string,"api_calls"?: number,"day"?: string,"delivered"?: number,"failed"?: number,"owner_id"?: string,"queued"?: number,"read"?: number,"received"?: number,"sent"?: number
                  }
                  Relationships: [
                    {
      foreignKeyName: "daily_stats_agent_id_fkey"
      columns: ["agent_id"]
isOneToOne: false
      referencedRelation: "agents"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "daily_stats_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: false
      referencedRelation: "accounts"
      referencedColumns: ["user_id"]
    },{
      foreignKeyName: "daily_stats_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: false
      referencedRelation: "organisations"
      referencedColumns: ["id"]
    }
                  ]
                },"events": {
                  Row: {
                    "agent_id": string | null,"created_at": string,"id": string,"owner_id": string,"payload": NonNullable<Json>,"severity": string,"type": string
                  }
                  ComputedFields: never
                  Insert: {
                    "agent_id"?: string | null,"created_at"?: string,"id"?: string,"owner_id": string,"payload"?: NonNullable<Json>,"severity"?: string,"type": string
                  }
                  Update: {
                    "agent_id"?: string | null,"created_at"?: string,"id"?: string,"owner_id"?: string,"payload"?: NonNullable<Json>,"severity"?: string,"type"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "events_agent_id_fkey"
      columns: ["agent_id"]
isOneToOne: false
      referencedRelation: "agents"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "events_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: false
      referencedRelation: "accounts"
      referencedColumns: ["user_id"]
    },{
      foreignKeyName: "events_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: false
      referencedRelation: "organisations"
      referencedColumns: ["id"]
    }
                  ]
                },"inbound_messages": {
                  Row: {
                    "agent_id": string,"chat_jid": string,"content": NonNullable<Json>,"created_at": string,"from_me": boolean,"id": string,"owner_id": string,"quoted_wa_message_id": string | null,"sender_lid": string | null,"sender_phone": string | null,"sent_at": string | null,"type": string,"wa_message_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "agent_id": string,"chat_jid": string,"content"?: NonNullable<Json>,"created_at"?: string,"from_me"?: boolean,"id"?: string,"owner_id": string,"quoted_wa_message_id"?: string | null,"sender_lid"?: string | null,"sender_phone"?: string | null,"sent_at"?: string | null,"type": string,"wa_message_id": string
                  }
                  Update: {
                    "agent_id"?: string,"chat_jid"?: string,"content"?: NonNullable<Json>,"created_at"?: string,"from_me"?: boolean,"id"?: string,"owner_id"?: string,"quoted_wa_message_id"?: string | null,"sender_lid"?: string | null,"sender_phone"?: string | null,"sent_at"?: string | null,"type"?: string,"wa_message_id"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "inbound_messages_agent_id_fkey"
      columns: ["agent_id"]
isOneToOne: false
      referencedRelation: "agents"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "inbound_messages_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: false
      referencedRelation: "accounts"
      referencedColumns: ["user_id"]
    },{
      foreignKeyName: "inbound_messages_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: false
      referencedRelation: "organisations"
      referencedColumns: ["id"]
    }
                  ]
                },"messages": {
                  Row: {
                    "agent_id": string,"attempts": number,"content": NonNullable<Json>,"created_at": string,"delivered_at": string | null,"error_code": string | null,"error_message": string | null,"failed_at": string | null,"id": string,"idempotency_key": string | null,"locked_by": string | null,"locked_until": string | null,"max_attempts": number,"next_attempt_at": string,"owner_id": string,"read_at": string | null,"recipient": string,"request_hash": string | null,"sending_at": string | null,"sent_at": string | null,"status": string,"type": string,"updated_at": string,"wa_message_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "agent_id": string,"attempts"?: number,"content": NonNullable<Json>,"created_at"?: string,"delivered_at"?: string | null,"error_code"?: string | null,"error_message"?: string | null,"failed_at"?: string | null,"id"?: string,"idempotency_key"?: string | null,"locked_by"?: string | null,"locked_until"?: string | null,"max_attempts"?: number,"next_attempt_at"?: string,"owner_id": string,"read_at"?: string | null,"recipient": string,"request_hash"?: string | null,"sending_at"?: string | null,"sent_at"?: string | null,"status"?: string,"type": string,"updated_at"?: string,"wa_message_id": string
                  }
                  Update: {
                    "agent_id"?: string,"attempts"?: number,"content"?: NonNullable<Json>,"created_at"?: string,"delivered_at"?: string | null,"error_code"?: string | null,"error_message"?: string | null,"failed_at"?: string | null,"id"?: string,"idempotency_key"?: string | null,"locked_by"?: string | null,"locked_until"?: string | null,"max_attempts"?: number,"next_attempt_at"?: string,"owner_id"?: string,"read_at"?: string | null,"recipient"?: string,"request_hash"?: string | null,"sending_at"?: string | null,"sent_at"?: string | null,"status"?: string,"type"?: string,"updated_at"?: string,"wa_message_id"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "messages_agent_id_fkey"
      columns: ["agent_id"]
isOneToOne: false
      referencedRelation: "agents"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "messages_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: false
      referencedRelation: "accounts"
      referencedColumns: ["user_id"]
    },{
      foreignKeyName: "messages_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: false
      referencedRelation: "organisations"
      referencedColumns: ["id"]
    }
                  ]
                },"number_checks": {
                  Row: {
                    "agent_id": string,"completed_at": string | null,"created_at": string,"error": string | null,"id": string,"locked_by": string | null,"locked_until": string | null,"numbers": (string)[],"owner_id": string,"result": Json | null,"status": string
                  }
                  ComputedFields: never
                  Insert: {
                    "agent_id": string,"completed_at"?: string | null,"created_at"?: string,"error"?: string | null,"id"?: string,"locked_by"?: string | null,"locked_until"?: string | null,"numbers": (string)[],"owner_id": string,"result"?: Json | null,"status"?: string
                  }
                  Update: {
                    "agent_id"?: string,"completed_at"?: string | null,"created_at"?: string,"error"?: string | null,"id"?: string,"locked_by"?: string | null,"locked_until"?: string | null,"numbers"?: (string)[],"owner_id"?: string,"result"?: Json | null,"status"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "number_checks_agent_id_fkey"
      columns: ["agent_id"]
isOneToOne: false
      referencedRelation: "agents"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "number_checks_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: false
      referencedRelation: "accounts"
      referencedColumns: ["user_id"]
    },{
      foreignKeyName: "number_checks_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: false
      referencedRelation: "organisations"
      referencedColumns: ["id"]
    }
                  ]
                },"organisation_invitations": {
                  Row: {
                    "accepted_at": string | null,"accepted_by": string | null,"created_at": string,"email": string,"expires_at": string,"id": string,"invited_by": string | null,"organisation_id": string,"revoked_at": string | null,"role": string,"token_hash": string
                  }
                  ComputedFields: never
                  Insert: {
                    "accepted_at"?: string | null,"accepted_by"?: string | null,"created_at"?: string,"email": string,"expires_at": string,"id"?: string,"invited_by"?: string | null,"organisation_id": string,"revoked_at"?: string | null,"role": string,"token_hash": string
                  }
                  Update: {
                    "accepted_at"?: string | null,"accepted_by"?: string | null,"created_at"?: string,"email"?: string,"expires_at"?: string,"id"?: string,"invited_by"?: string | null,"organisation_id"?: string,"revoked_at"?: string | null,"role"?: string,"token_hash"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "organisation_invitations_organisation_id_fkey"
      columns: ["organisation_id"]
isOneToOne: false
      referencedRelation: "accounts"
      referencedColumns: ["user_id"]
    },{
      foreignKeyName: "organisation_invitations_organisation_id_fkey"
      columns: ["organisation_id"]
isOneToOne: false
      referencedRelation: "organisations"
      referencedColumns: ["id"]
    }
                  ]
                },"organisation_members": {
                  Row: {
                    "created_at": string,"organisation_id": string,"role": string,"user_id": string
                  }
                  ComputedFields: never
                  Insert: {
                    "created_at"?: string,"organisation_id": string,"role": string,"user_id": string
                  }
                  Update: {
                    "created_at"?: string,"organisation_id"?: string,"role"?: string,"user_id"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "organisation_members_organisation_id_fkey"
      columns: ["organisation_id"]
isOneToOne: false
      referencedRelation: "accounts"
      referencedColumns: ["user_id"]
    },{
      foreignKeyName: "organisation_members_organisation_id_fkey"
      columns: ["organisation_id"]
isOneToOne: false
      referencedRelation: "organisations"
      referencedColumns: ["id"]
    }
                  ]
                },"organisations": {
                  Row: {
                    "created_at": string,"id": string,"name": string,"plan_id": string,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "created_at"?: string,"id"?: string,"name": string,"plan_id"?: string,"updated_at"?: string
                  }
                  Update: {
                    "created_at"?: string,"id"?: string,"name"?: string,"plan_id"?: string,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "organisations_plan_id_fkey"
      columns: ["plan_id"]
isOneToOne: false
      referencedRelation: "plans"
      referencedColumns: ["id"]
    }
                  ]
                },"plans": {
                  Row: {
                    "created_at": string,"id": string,"max_agents": number,"messages_per_minute": number,"name": string
                  }
                  ComputedFields: never
                  Insert: {
                    "created_at"?: string,"id": string,"max_agents": number,"messages_per_minute": number,"name": string
                  }
                  Update: {
                    "created_at"?: string,"id"?: string,"max_agents"?: number,"messages_per_minute"?: number,"name"?: string
                  }
                  Relationships: [
                    
                  ]
                },"webhook_deliveries": {
                  Row: {
                    "attempts": number,"created_at": string,"delivered_at": string | null,"endpoint_id": string,"event_id": string,"id": string,"last_attempt_at": string | null,"last_error": string | null,"last_status_code": number | null,"locked_by": string | null,"locked_until": string | null,"max_attempts": number,"next_attempt_at": string,"owner_id": string,"status": string
                  }
                  ComputedFields: never
                  Insert: {
                    "attempts"?: number,"created_at"?: string,"delivered_at"?: string | null,"endpoint_id": string,"event_id": string,"id"?: string,"last_attempt_at"?: string | null,"last_error"?: string | null,"last_status_code"?: number | null,"locked_by"?: string | null,"locked_until"?: string | null,"max_attempts"?: number,"next_attempt_at"?: string,"owner_id": string,"status"?: string
                  }
                  Update: {
                    "attempts"?: number,"created_at"?: string,"delivered_at"?: string | null,"endpoint_id"?: string,"event_id"?: string,"id"?: string,"last_attempt_at"?: string | null,"last_error"?: string | null,"last_status_code"?: number | null,"locked_by"?: string | null,"locked_until"?: string | null,"max_attempts"?: number,"next_attempt_at"?: string,"owner_id"?: string,"status"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "webhook_deliveries_endpoint_id_fkey"
      columns: ["endpoint_id"]
isOneToOne: false
      referencedRelation: "webhook_endpoints"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "webhook_deliveries_event_id_fkey"
      columns: ["event_id"]
isOneToOne: false
      referencedRelation: "events"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "webhook_deliveries_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: false
      referencedRelation: "accounts"
      referencedColumns: ["user_id"]
    },{
      foreignKeyName: "webhook_deliveries_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: false
      referencedRelation: "organisations"
      referencedColumns: ["id"]
    }
                  ]
                },"webhook_endpoints": {
                  Row: {
                    "agent_id": string | null,"created_at": string,"description": string | null,"enabled": boolean,"event_types": (string)[],"id": string,"owner_id": string,"updated_at": string,"url": string
                  }
                  ComputedFields: never
                  Insert: {
                    "agent_id"?: string | null,"created_at"?: string,"description"?: string | null,"enabled"?: boolean,"event_types"?: (string)[],"id"?: string,"owner_id": string,"updated_at"?: string,"url": string
                  }
                  Update: {
                    "agent_id"?: string | null,"created_at"?: string,"description"?: string | null,"enabled"?: boolean,"event_types"?: (string)[],"id"?: string,"owner_id"?: string,"updated_at"?: string,"url"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "webhook_endpoints_agent_id_fkey"
      columns: ["agent_id"]
isOneToOne: false
      referencedRelation: "agents"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "webhook_endpoints_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: false
      referencedRelation: "accounts"
      referencedColumns: ["user_id"]
    },{
      foreignKeyName: "webhook_endpoints_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: false
      referencedRelation: "organisations"
      referencedColumns: ["id"]
    }
                  ]
                },"whatsapp_sessions": {
                  Row: {
                    "agent_id": string,"command_force": boolean,"command_requested_at": string | null,"created_at": string,"desired_state": string,"last_connected_at": string | null,"last_disconnect_code": number | null,"last_disconnect_reason": string | null,"last_disconnected_at": string | null,"last_heartbeat_at": string | null,"lease_epoch": number,"lease_until": string | null,"link_method": string | null,"link_phone": string | null,"link_requested_at": string | null,"linked_jid": string | null,"owner_connector_id": string | null,"owner_hostname": string | null,"owner_id": string,"owner_pid": number | null,"pairing_code": string | null,"pending_command": string | null,"phone_number": string | null,"qr_attempts": number,"qr_code": string | null,"qr_expires_at": string | null,"reconnect_attempts": number,"status": string,"status_changed_at": string,"status_reason": string | null,"updated_at": string
                  }
                  ComputedFields: never
                  Insert: {
                    "agent_id": string,"command_force"?: boolean,"command_requested_at"?: string | null,"created_at"?: string,"desired_state"?: string,"last_connected_at"?: string | null,"last_disconnect_code"?: number | null,"last_disconnect_reason"?: string | null,"last_disconnected_at"?: string | null,"last_heartbeat_at"?: string | null,"lease_epoch"?: number,"lease_until"?: string | null,"link_method"?: string | null,"link_phone"?: string | null,"link_requested_at"?: string | null,"linked_jid"?: string | null,"owner_connector_id"?: string | null,"owner_hostname"?: string | null,"owner_id": string,"owner_pid"?: number | null,"pairing_code"?: string | null,"pending_command"?: string | null,"phone_number"?: string | null,"qr_attempts"?: number,"qr_code"?: string | null,"qr_expires_at"?: string | null,"reconnect_attempts"?: number,"status"?: string,"status_changed_at"?: string,"status_reason"?: string | null,"updated_at"?: string
                  }
                  Update: {
                    "agent_id"?: string,"command_force"?: boolean,"command_requested_at"?: string | null,"created_at"?: string,"desired_state"?: string,"last_connected_at"?: string | null,"last_disconnect_code"?: number | null,"last_disconnect_reason"?: string | null,"last_disconnected_at"?: string | null,"last_heartbeat_at"?: string | null,"lease_epoch"?: number,"lease_until"?: string | null,"link_method"?: string | null,"link_phone"?: string | null,"link_requested_at"?: string | null,"linked_jid"?: string | null,"owner_connector_id"?: string | null,"owner_hostname"?: string | null,"owner_id"?: string,"owner_pid"?: number | null,"pairing_code"?: string | null,"pending_command"?: string | null,"phone_number"?: string | null,"qr_attempts"?: number,"qr_code"?: string | null,"qr_expires_at"?: string | null,"reconnect_attempts"?: number,"status"?: string,"status_changed_at"?: string,"status_reason"?: string | null,"updated_at"?: string
                  }
                  Relationships: [
                    {
      foreignKeyName: "whatsapp_sessions_agent_id_fkey"
      columns: ["agent_id"]
isOneToOne: true
      referencedRelation: "agents"
      referencedColumns: ["id"]
    },{
      foreignKeyName: "whatsapp_sessions_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: false
      referencedRelation: "accounts"
      referencedColumns: ["user_id"]
    },{
      foreignKeyName: "whatsapp_sessions_owner_id_fkey"
      columns: ["owner_id"]
isOneToOne: false
      referencedRelation: "organisations"
      referencedColumns: ["id"]
    }
                  ]
                }
          }
          Views: {
            "accounts": {
                  Row: {
                    "created_at": string,"plan_id": string,"updated_at": string,"user_id": string
                  }
                  ComputedFields: never
                  Insert: {
                           "created_at"?: string | null,"plan_id"?: string | null,"updated_at"?: string | null,"user_id"?: string | null
                         }
                        Update: {
                           "created_at"?: string | null,"plan_id"?: string | null,"updated_at"?: string | null,"user_id"?: string | null
                         }
                        Relationships: [
                    {
      foreignKeyName: "organisations_plan_id_fkey"
      columns: ["plan_id"]
isOneToOne: false
      referencedRelation: "plans"
      referencedColumns: ["id"]
    }
                  ]
                }
          }
          Functions: {
            [_ in never]: never
          }
          Enums: {
            [_ in never]: never
          }
          CompositeTypes: {
            [_ in never]: never
          }
        }
}

type DatabaseWithoutInternals = Omit<Database, '__InternalSupabase'>

type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "public">]

export type Tables<
  DefaultSchemaTableNameOrOptions extends
    | keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
        DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? (DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"] &
      DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Views"])[TableName] extends {
      Row: infer R
    }
    ? R
    : never
  : DefaultSchemaTableNameOrOptions extends keyof (DefaultSchema["Tables"] & DefaultSchema["Views"])
  ? (DefaultSchema["Tables"] & DefaultSchema["Views"])[DefaultSchemaTableNameOrOptions] extends {
      Row: infer R
    }
    ? R
    : never
  : never

export type TablesInsert<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Insert: infer I
    }
    ? I
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
  ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Insert: infer I
    }
    ? I
    : never
  : never

export type TablesUpdate<
  DefaultSchemaTableNameOrOptions extends
    | keyof DefaultSchema["Tables"]
    | { schema: keyof DatabaseWithoutInternals },
  TableName extends DefaultSchemaTableNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"]
    : never = never
> = DefaultSchemaTableNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaTableNameOrOptions["schema"]]["Tables"][TableName] extends {
      Update: infer U
    }
    ? U
    : never
  : DefaultSchemaTableNameOrOptions extends keyof DefaultSchema["Tables"]
  ? DefaultSchema["Tables"][DefaultSchemaTableNameOrOptions] extends {
      Update: infer U
    }
    ? U
    : never
  : never

export type Enums<
  DefaultSchemaEnumNameOrOptions extends
    | keyof DefaultSchema["Enums"]
    | { schema: keyof DatabaseWithoutInternals },
  EnumName extends DefaultSchemaEnumNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"]
    : never = never
> = DefaultSchemaEnumNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[DefaultSchemaEnumNameOrOptions["schema"]]["Enums"][EnumName]
  : DefaultSchemaEnumNameOrOptions extends keyof DefaultSchema["Enums"]
  ? DefaultSchema["Enums"][DefaultSchemaEnumNameOrOptions]
  : never

export type CompositeTypes<
  PublicCompositeTypeNameOrOptions extends
    | keyof DefaultSchema["CompositeTypes"]
    | { schema: keyof DatabaseWithoutInternals },
  CompositeTypeName extends PublicCompositeTypeNameOrOptions extends {
    schema: keyof DatabaseWithoutInternals
  }
    ? keyof DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"]
    : never = never
> = PublicCompositeTypeNameOrOptions extends { schema: keyof DatabaseWithoutInternals }
  ? DatabaseWithoutInternals[PublicCompositeTypeNameOrOptions["schema"]]["CompositeTypes"][CompositeTypeName]
  : PublicCompositeTypeNameOrOptions extends keyof DefaultSchema["CompositeTypes"]
  ? DefaultSchema["CompositeTypes"][PublicCompositeTypeNameOrOptions]
  : never

export const Constants = {
  "gateway": {
          Enums: {
            
          }
        },"public": {
          Enums: {
            
          }
        }
} as const

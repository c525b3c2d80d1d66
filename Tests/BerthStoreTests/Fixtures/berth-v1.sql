BEGIN TRANSACTION;
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL, secret_hash TEXT NOT NULL UNIQUE, created_at REAL NOT NULL);
INSERT INTO "api_tokens" VALUES('tok_bcdh1yd7aszss7s8','usr_y5wrs48m2arztfkb','BERTH_ADMIN_TOKEN','51609622e8788a1c43b7f8e6d0b59db4454be8df80de0c8d009a9aead707176a',1.79589899276659321781e+09);
INSERT INTO "api_tokens" VALUES('tok_06zpxxzq7nry3knd','usr_fqd2taqaxm5q4sq1','fixture laptop','4f6870ba72bfdc5a3e7e67dec563df82384a880f6bbaf0d3f5534cdc297c2d77',1.79589899347024083142e+09);
INSERT INTO "api_tokens" VALUES('tok_tc4y6k2gcz39pwd8','usr_t1178tpka3rnx6c0','bob''s script','ef2b23ab0223be3be18118ab96c99c4255881fa5c16b6d483b6503a846efeecd',1795898994.81043);
CREATE TABLE audit_log (
    sequence INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, actor_id TEXT, actor_name TEXT, actor_role TEXT,
    client_ip TEXT, user_agent TEXT, action TEXT NOT NULL, target TEXT, status INTEGER NOT NULL,
    result TEXT NOT NULL, detail TEXT, previous_hash TEXT NOT NULL, hash TEXT NOT NULL);
INSERT INTO "audit_log" VALUES(1,1795898993315,'usr_y5wrs48m2arztfkb','admin','admin','127.0.0.1','Python-urllib/3.11','PUT /api/v1/admin/settings',NULL,200,'ok','{"defaultTTL":"45m","assignment":"user","registrationOpen":true,"globalCap":100,"ownerCap":3}','0000000000000000000000000000000000000000000000000000000000000000','10b3ade25f4af326e5f7820e2260bfcccf82fbbda2bc4cb3c2bf9046a16cceae');
INSERT INTO "audit_log" VALUES(2,1795898993387,'usr_y5wrs48m2arztfkb','admin','admin','127.0.0.1','berth','POST /api/v1/users','usr_fqd2taqaxm5q4sq1',201,'ok','name alice, role player','10b3ade25f4af326e5f7820e2260bfcccf82fbbda2bc4cb3c2bf9046a16cceae','50e116580d195b311f367bee69cde0be65639ae74ee4f247bdf1925aacbdfcc8');
INSERT INTO "audit_log" VALUES(3,1795898993471,'usr_y5wrs48m2arztfkb','admin','admin','127.0.0.1','berth','POST /api/v1/users/{id}/tokens','usr_fqd2taqaxm5q4sq1',201,'ok','token tok_06zpxxzq7nry3knd','50e116580d195b311f367bee69cde0be65639ae74ee4f247bdf1925aacbdfcc8','d31db53a78e672a397fd35ff8c0085d611e0d34dc705f023d5fb1f02a28f39fa');
INSERT INTO "audit_log" VALUES(4,1795898993507,'usr_y5wrs48m2arztfkb','admin','admin','127.0.0.1','Python-urllib/3.11','POST /api/v1/users',NULL,409,'user_name_taken',NULL,'d31db53a78e672a397fd35ff8c0085d611e0d34dc705f023d5fb1f02a28f39fa','b266241f1b06e5ec8284ee139d886c771dcaf0cac207bc808ee8db21f5784f08');
INSERT INTO "audit_log" VALUES(5,1795898993511,NULL,NULL,NULL,'127.0.0.1','Python-urllib/3.11','GET /api/v1/session',NULL,200,'ok',NULL,'b266241f1b06e5ec8284ee139d886c771dcaf0cac207bc808ee8db21f5784f08','fb0edca2658328be69f913af1430ebd581e236ccbd084f7345598675c5ca6733');
INSERT INTO "audit_log" VALUES(6,1795898993826,'usr_t1178tpka3rnx6c0','Bob','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/auth/register','usr_t1178tpka3rnx6c0',201,'ok',NULL,'fb0edca2658328be69f913af1430ebd581e236ccbd084f7345598675c5ca6733','5ba1cf74d06396df5825ae3bcb9edcf1e37f2736f839c0792e055782d7576ba4');
INSERT INTO "audit_log" VALUES(7,1795898993834,'usr_t1178tpka3rnx6c0','Bob','player','127.0.0.1','Python-urllib/3.11','GET /api/v1/session',NULL,200,'ok',NULL,'5ba1cf74d06396df5825ae3bcb9edcf1e37f2736f839c0792e055782d7576ba4','0f9077bb3a5de14901a3f65d45c83f81da1e62d2e4bedf97dbe0c9632dc4616a');
INSERT INTO "audit_log" VALUES(8,1795898993843,NULL,NULL,NULL,'127.0.0.1','Python-urllib/3.11','GET /api/v1/session',NULL,200,'ok',NULL,'0f9077bb3a5de14901a3f65d45c83f81da1e62d2e4bedf97dbe0c9632dc4616a','883df2e97a6c3b01d17995ce281581249dd48409b898f1258cd219dbcf2ee317');
INSERT INTO "audit_log" VALUES(9,1795898994167,'usr_13fters87s9z7qpa','carol','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/auth/register','usr_13fters87s9z7qpa',201,'ok',NULL,'883df2e97a6c3b01d17995ce281581249dd48409b898f1258cd219dbcf2ee317','b4da6758c0a4c0d107a2141f7a61922f118ce704faefaf7bcb708b49a302453b');
INSERT INTO "audit_log" VALUES(10,1795898994174,'usr_13fters87s9z7qpa','carol','player','127.0.0.1','Python-urllib/3.11','GET /api/v1/session',NULL,200,'ok',NULL,'b4da6758c0a4c0d107a2141f7a61922f118ce704faefaf7bcb708b49a302453b','68c3fdecdd7bdbb204763918287dcccffd0812278abf617b706e979784ac9856');
INSERT INTO "audit_log" VALUES(11,1795898994182,NULL,NULL,NULL,'127.0.0.1','Python-urllib/3.11','GET /api/v1/session',NULL,200,'ok',NULL,'68c3fdecdd7bdbb204763918287dcccffd0812278abf617b706e979784ac9856','bc678877bb3dba7498e16c43f37cb9bb5094994d929c4d64da81a4965bf47059');
INSERT INTO "audit_log" VALUES(12,1795898994494,NULL,NULL,NULL,'127.0.0.1','Python-urllib/3.11','POST /api/v1/auth/register',NULL,409,'user_name_taken',NULL,'bc678877bb3dba7498e16c43f37cb9bb5094994d929c4d64da81a4965bf47059','cbbd688a714a4d4f515a3f0caa5186877d45726adde6bc47f765475ebaea1993');
INSERT INTO "audit_log" VALUES(13,1795898994499,NULL,NULL,NULL,'127.0.0.1','Python-urllib/3.11','GET /api/v1/session',NULL,200,'ok',NULL,'cbbd688a714a4d4f515a3f0caa5186877d45726adde6bc47f765475ebaea1993','b0ecefe507d0a6df2568eab03d96c4dbfb2d6690d274ba5bfc024bd1001fece9');
INSERT INTO "audit_log" VALUES(14,1795898994802,'usr_t1178tpka3rnx6c0','Bob','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/auth/login',NULL,200,'ok',NULL,'b0ecefe507d0a6df2568eab03d96c4dbfb2d6690d274ba5bfc024bd1001fece9','2ccd655b3a5baddb1d55da58ca6f228879d3a60938e4a5dc0325223ba9bf6c6d');
INSERT INTO "audit_log" VALUES(15,1795898994815,'usr_t1178tpka3rnx6c0','Bob','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/me/tokens','tok_tc4y6k2gcz39pwd8',201,'ok',NULL,'2ccd655b3a5baddb1d55da58ca6f228879d3a60938e4a5dc0325223ba9bf6c6d','7c58df6ace52e880764953075dcdf3646cd92f67718160689c585cfd10a3045d');
INSERT INTO "audit_log" VALUES(16,1795898994825,'usr_t1178tpka3rnx6c0','Bob','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/me/team','team_1bme5yd8np9ws786',201,'ok',NULL,'7c58df6ace52e880764953075dcdf3646cd92f67718160689c585cfd10a3045d','28e390074a0be0586da5d9f743a3038f8dd48bf946f84cdef5e22f6f26daa246');
INSERT INTO "audit_log" VALUES(17,1795898994839,'usr_13fters87s9z7qpa','carol','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/me/team/join','team_1bme5yd8np9ws786',200,'ok',NULL,'28e390074a0be0586da5d9f743a3038f8dd48bf946f84cdef5e22f6f26daa246','2fb6a1d5b7237e62403b60d0f15870517a14017c513aa3046ca372533dfc321e');
INSERT INTO "audit_log" VALUES(18,1795898995378,'usr_fqd2taqaxm5q4sq1','alice','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/instances','inst_wpj412kb4g0kde6r',201,'ok','environment web-service','2fb6a1d5b7237e62403b60d0f15870517a14017c513aa3046ca372533dfc321e','99a5752a4a806074a27c2f2226759c0ac652a62bdc814681234188ce94482b43');
INSERT INTO "audit_log" VALUES(19,1795898995384,'usr_fqd2taqaxm5q4sq1','alice','player','127.0.0.1','Python-urllib/3.11','GET /api/v1/instances/{id}','inst_wpj412kb4g0kde6r',200,'ok',NULL,'99a5752a4a806074a27c2f2226759c0ac652a62bdc814681234188ce94482b43','2cc9d3d4d15aa11ab52244c81be52c5ab18dc0dde554dda8438fb2c56f6dedfa');
INSERT INTO "audit_log" VALUES(20,1795898995391,'usr_fqd2taqaxm5q4sq1','alice','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/instances/{id}/terminal/ticket','inst_wpj412kb4g0kde6r',201,'ok',NULL,'2cc9d3d4d15aa11ab52244c81be52c5ab18dc0dde554dda8438fb2c56f6dedfa','7f02326baca667d679aaf4116b6e068207d56fb2962d519d7c5ce8077fbd700c');
INSERT INTO "audit_log" VALUES(21,1795898995397,NULL,NULL,NULL,'127.0.0.1',NULL,'GET /api/v1/instances/{id}/terminal','inst_wpj412kb4g0kde6r',200,'ok',NULL,'7f02326baca667d679aaf4116b6e068207d56fb2962d519d7c5ce8077fbd700c','7e94b0a33f296161dfd58a46187369b61d105659af928e15d4a8601acef4ec28');
INSERT INTO "audit_log" VALUES(22,1795898997353,'usr_t1178tpka3rnx6c0','Bob','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/instances','inst_wasy79nyc9fkvmt0',201,'ok','environment linux-basics','7e94b0a33f296161dfd58a46187369b61d105659af928e15d4a8601acef4ec28','7cfd72f4866ee2f19a14ca470efe45a8b62aef254df1397e493088d2202ef07a');
INSERT INTO "audit_log" VALUES(23,1795898997357,'usr_t1178tpka3rnx6c0','Bob','player','127.0.0.1','Python-urllib/3.11','GET /api/v1/instances/{id}','inst_wasy79nyc9fkvmt0',200,'ok',NULL,'7cfd72f4866ee2f19a14ca470efe45a8b62aef254df1397e493088d2202ef07a','b3d0853711bdbaa3fe3c99486f7446b10b1d0923d754293f5084a6b12a947f76');
INSERT INTO "audit_log" VALUES(24,1795898997360,'usr_t1178tpka3rnx6c0','Bob','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/instances/{id}/terminal/ticket','inst_wasy79nyc9fkvmt0',201,'ok',NULL,'b3d0853711bdbaa3fe3c99486f7446b10b1d0923d754293f5084a6b12a947f76','121100362a7e66ce2d8cc7a1d0e170638aad92e2fd70047bbc9eb1c9590ae728');
INSERT INTO "audit_log" VALUES(25,1795898997363,NULL,NULL,NULL,'127.0.0.1',NULL,'GET /api/v1/instances/{id}/terminal','inst_wasy79nyc9fkvmt0',200,'ok',NULL,'121100362a7e66ce2d8cc7a1d0e170638aad92e2fd70047bbc9eb1c9590ae728','74bcf1ea9192f3e409ef86e0171d33c1e1afb5b9a53435d76b45f60a1ddee940');
INSERT INTO "audit_log" VALUES(26,1795898999043,'usr_t1178tpka3rnx6c0','Bob','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/environments/{slug}/submissions','linux-basics',200,'ok','outcome incorrect','74bcf1ea9192f3e409ef86e0171d33c1e1afb5b9a53435d76b45f60a1ddee940','e74dffef472556018a0fd1b35e5f61e8d4e595e365765d98ba8f11f974fb6b06');
INSERT INTO "audit_log" VALUES(27,1795898999052,'usr_t1178tpka3rnx6c0','Bob','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/environments/{slug}/hints/{index}/unlock','linux-basics',200,'ok','hint 1, cost 10','e74dffef472556018a0fd1b35e5f61e8d4e595e365765d98ba8f11f974fb6b06','fd002f7b7b438c0ee8311dc068523d03840cc5dc238b6727eb43ad528c76fd4f');
INSERT INTO "audit_log" VALUES(28,1795898999059,'usr_t1178tpka3rnx6c0','Bob','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/environments/{slug}/submissions','linux-basics',200,'ok','outcome correct','fd002f7b7b438c0ee8311dc068523d03840cc5dc238b6727eb43ad528c76fd4f','e8e2455f216ac0b7a0b805320fdb2139821006dc0cd7f4c1c16f1f745d0943d6');
INSERT INTO "audit_log" VALUES(29,1795898999205,'usr_t1178tpka3rnx6c0','Bob','player','127.0.0.1','Python-urllib/3.11','DELETE /api/v1/instances/{id}','inst_wasy79nyc9fkvmt0',200,'ok',NULL,'e8e2455f216ac0b7a0b805320fdb2139821006dc0cd7f4c1c16f1f745d0943d6','a3257d05e27649ebef15a9fa8b59c9084077daa41d6ca0ce7b7aa1ceb1447fb8');
INSERT INTO "audit_log" VALUES(30,1795898999215,'usr_t1178tpka3rnx6c0','Bob','player','127.0.0.1','Python-urllib/3.11','GET /api/v1/instances/{id}','inst_wasy79nyc9fkvmt0',200,'ok',NULL,'a3257d05e27649ebef15a9fa8b59c9084077daa41d6ca0ce7b7aa1ceb1447fb8','bc331dd5f8fd6916906726e2a44ad463ca7dce6e981f7af6dd5a9e12c3de7723');
INSERT INTO "audit_log" VALUES(31,1795898999939,'usr_13fters87s9z7qpa','carol','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/instances','inst_c4ej5q0d4s43tp1b',201,'ok','environment lab-shell-steps','bc331dd5f8fd6916906726e2a44ad463ca7dce6e981f7af6dd5a9e12c3de7723','e5bfa0445f688b6089e0b4ebd45f07b885f0bf5622f0fae9004a4986da6922e2');
INSERT INTO "audit_log" VALUES(32,1795898999946,'usr_13fters87s9z7qpa','carol','player','127.0.0.1','Python-urllib/3.11','GET /api/v1/instances/{id}','inst_c4ej5q0d4s43tp1b',200,'ok',NULL,'e5bfa0445f688b6089e0b4ebd45f07b885f0bf5622f0fae9004a4986da6922e2','81c27278dd7c98042ba388ba98c9f5795cad2be10e3f53787b45043ca6826242');
INSERT INTO "audit_log" VALUES(33,1795898999955,'usr_13fters87s9z7qpa','carol','player','127.0.0.1','Python-urllib/3.11','GET /api/v1/environments/{slug}/lab',NULL,200,'ok',NULL,'81c27278dd7c98042ba388ba98c9f5795cad2be10e3f53787b45043ca6826242','cfabddd1d872f8bc7dbb56d7857e4a0605ad6a165c01c95538dbef331ac3cee8');
INSERT INTO "audit_log" VALUES(34,1795899000074,'usr_13fters87s9z7qpa','carol','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/instances/{id}/checks','inst_c4ej5q0d4s43tp1b',200,'ok','step make-folder, failed','cfabddd1d872f8bc7dbb56d7857e4a0605ad6a165c01c95538dbef331ac3cee8','230e9e70396c4023475d676e7edba93f069af6976b4d2271c18145c70c263cfc');
INSERT INTO "audit_log" VALUES(35,1795899000155,'usr_13fters87s9z7qpa','carol','player','127.0.0.1','Python-urllib/3.11','PUT /api/v1/instances/{id}/files/content','inst_c4ej5q0d4s43tp1b',200,'ok','write /home/player/project/notes.txt, 25 bytes, sha256 d4a3ee1e25b418ea86f269f3507bd3929403b29b370c0b9494af0b4a822f724d','230e9e70396c4023475d676e7edba93f069af6976b4d2271c18145c70c263cfc','57f8e25794d26eca930fc28f9cba9154d04d1d9a9421f9b391a5e409b7912e39');
INSERT INTO "audit_log" VALUES(36,1795899000284,'usr_13fters87s9z7qpa','carol','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/instances/{id}/checks','inst_c4ej5q0d4s43tp1b',200,'ok','step make-folder, passed','57f8e25794d26eca930fc28f9cba9154d04d1d9a9421f9b391a5e409b7912e39','5f12643afcb6611fed1468b2e5554489f217f628393b0b5181347fe22be6616a');
INSERT INTO "audit_log" VALUES(37,1795899000291,'usr_13fters87s9z7qpa','carol','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/instances/{id}/hints','inst_c4ej5q0d4s43tp1b',200,'ok','step save-listing, authored','5f12643afcb6611fed1468b2e5554489f217f628393b0b5181347fe22be6616a','a369719f4ada5b2cfd92f35c5acbf05933237c3214a0e70cdb57eba9d9b69bed');
INSERT INTO "audit_log" VALUES(38,1795899000423,'usr_13fters87s9z7qpa','carol','player','127.0.0.1','Python-urllib/3.11','DELETE /api/v1/instances/{id}','inst_c4ej5q0d4s43tp1b',200,'ok',NULL,'a369719f4ada5b2cfd92f35c5acbf05933237c3214a0e70cdb57eba9d9b69bed','1c5e4a314468508a31ad8b0054926f4e8d4c0026edeb5b93a7fbae712e00e11a');
INSERT INTO "audit_log" VALUES(39,1795899000429,'usr_13fters87s9z7qpa','carol','player','127.0.0.1','Python-urllib/3.11','GET /api/v1/instances/{id}','inst_c4ej5q0d4s43tp1b',200,'ok',NULL,'1c5e4a314468508a31ad8b0054926f4e8d4c0026edeb5b93a7fbae712e00e11a','28cb14dcafb78f720fd2e00a1455c2588cd236dae3cb920f8b3f5529ba38ee15');
INSERT INTO "audit_log" VALUES(40,1795899000871,'usr_13fters87s9z7qpa','carol','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/instances','inst_5kb8rgvrdyyx5b46',201,'ok','environment workspace-notes','28cb14dcafb78f720fd2e00a1455c2588cd236dae3cb920f8b3f5529ba38ee15','7d5cb881b8288f9834d372785453f17ba59b4f2f013ee9a76c142e89434f28ac');
INSERT INTO "audit_log" VALUES(41,1795899000878,'usr_13fters87s9z7qpa','carol','player','127.0.0.1','Python-urllib/3.11','GET /api/v1/instances/{id}','inst_5kb8rgvrdyyx5b46',200,'ok',NULL,'7d5cb881b8288f9834d372785453f17ba59b4f2f013ee9a76c142e89434f28ac','2009452c5f9665a9267e664c5d3e431df6156677679685714ad0a6a5004ec559');
INSERT INTO "audit_log" VALUES(42,1795899000935,'usr_13fters87s9z7qpa','carol','player','127.0.0.1','Python-urllib/3.11','PUT /api/v1/instances/{id}/files/content','inst_5kb8rgvrdyyx5b46',200,'ok','write /home/player/work/notes.txt, 22 bytes, sha256 a939842cb9e5f743aeed53a0ccf7d157f53bb6ceda5c8360a9f7a91b82b59427','2009452c5f9665a9267e664c5d3e431df6156677679685714ad0a6a5004ec559','70f5b6337f8c0d4fcd5ce0c15fca61d19950b031c1a0570a24645e887395ad6c');
INSERT INTO "audit_log" VALUES(43,1795899001107,'usr_13fters87s9z7qpa','carol','player','127.0.0.1','Python-urllib/3.11','DELETE /api/v1/instances/{id}','inst_5kb8rgvrdyyx5b46',200,'ok',NULL,'70f5b6337f8c0d4fcd5ce0c15fca61d19950b031c1a0570a24645e887395ad6c','1b6c454cc756c860c6e7e69455cc117ea2d18e80735dc5834ce344ae29f9d0da');
INSERT INTO "audit_log" VALUES(44,1795899001114,'usr_13fters87s9z7qpa','carol','player','127.0.0.1','Python-urllib/3.11','GET /api/v1/instances/{id}','inst_5kb8rgvrdyyx5b46',200,'ok',NULL,'1b6c454cc756c860c6e7e69455cc117ea2d18e80735dc5834ce344ae29f9d0da','eb38549efeca7806566b08c7ffc0c5acf309d5319eca1531c2b6c31b1df1c845');
INSERT INTO "audit_log" VALUES(45,1795899001120,'usr_y5wrs48m2arztfkb','admin','admin','127.0.0.1','Python-urllib/3.11','GET /api/v1/admin/workspaces',NULL,200,'ok',NULL,'eb38549efeca7806566b08c7ffc0c5acf309d5319eca1531c2b6c31b1df1c845','e78559a3b1c25e7eacb4bab66847813cf440169c1d060bd5072d809e38f706f2');
INSERT INTO "audit_log" VALUES(46,1795899001125,'usr_y5wrs48m2arztfkb','admin','admin','127.0.0.1','Python-urllib/3.11','PUT /api/v1/admin/settings',NULL,200,'ok','{"registrationOpen":true,"assignment":"team","ownerCap":3,"defaultTTL":"45m","globalCap":100}','e78559a3b1c25e7eacb4bab66847813cf440169c1d060bd5072d809e38f706f2','ba1affe38060b1b2ab00c8e27dde3f0293c45e4e9751153bb2961fc0e5a160c9');
INSERT INTO "audit_log" VALUES(47,1795899001918,'usr_t1178tpka3rnx6c0','Bob','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/instances','inst_smdk8vc4a01eft7y',201,'ok','environment lab-shell-steps','ba1affe38060b1b2ab00c8e27dde3f0293c45e4e9751153bb2961fc0e5a160c9','ba45deae42526c3ec7df958d6c20f51f9adf0a8e13b0eecfd0bdec5e6fc1d4df');
INSERT INTO "audit_log" VALUES(48,1795899001925,'usr_t1178tpka3rnx6c0','Bob','player','127.0.0.1','Python-urllib/3.11','GET /api/v1/instances/{id}','inst_smdk8vc4a01eft7y',200,'ok',NULL,'ba45deae42526c3ec7df958d6c20f51f9adf0a8e13b0eecfd0bdec5e6fc1d4df','2bb393d396989249d34213300a6416fab62ae63cdbfb0116b85a8dab0e0f86aa');
INSERT INTO "audit_log" VALUES(49,1795899001931,'usr_t1178tpka3rnx6c0','Bob','player','127.0.0.1','Python-urllib/3.11','GET /api/v1/environments/{slug}/lab',NULL,200,'ok',NULL,'2bb393d396989249d34213300a6416fab62ae63cdbfb0116b85a8dab0e0f86aa','0b5eeb10a94c06a7e19252c162a24b6fd42cc1b8a4ad82871d12fb0174790902');
INSERT INTO "audit_log" VALUES(50,1795899001938,'usr_13fters87s9z7qpa','carol','player','127.0.0.1','Python-urllib/3.11','POST /api/v1/environments/{slug}/submissions','web-service',200,'ok','outcome incorrect','0b5eeb10a94c06a7e19252c162a24b6fd42cc1b8a4ad82871d12fb0174790902','9494e53d24179e78892a2d161e9c13aca60bff366b48af037045eb68ddb41df8');
INSERT INTO "audit_log" VALUES(51,1795899002093,'usr_t1178tpka3rnx6c0','Bob','player','127.0.0.1','Python-urllib/3.11','DELETE /api/v1/instances/{id}','inst_smdk8vc4a01eft7y',200,'ok',NULL,'9494e53d24179e78892a2d161e9c13aca60bff366b48af037045eb68ddb41df8','9439beb86d5a2c26b26e1b53f5404ff671948bb1c72890e046029c2e1e7228b0');
INSERT INTO "audit_log" VALUES(52,1795899002106,'usr_t1178tpka3rnx6c0','Bob','player','127.0.0.1','Python-urllib/3.11','GET /api/v1/instances/{id}','inst_smdk8vc4a01eft7y',200,'ok',NULL,'9439beb86d5a2c26b26e1b53f5404ff671948bb1c72890e046029c2e1e7228b0','3b5243cd2fd09f8c038081616044308a60cd5d09e97684f02b5a9a09158ce374');
INSERT INTO "audit_log" VALUES(53,1795899002123,'usr_y5wrs48m2arztfkb','admin','admin','127.0.0.1','Python-urllib/3.11','PUT /api/v1/admin/settings',NULL,200,'ok','{"ownerCap":3,"globalCap":100,"registrationOpen":true,"assignment":"user","defaultTTL":"45m"}','3b5243cd2fd09f8c038081616044308a60cd5d09e97684f02b5a9a09158ce374','7625979b790ea3f3e16d857b6c897e8629515e72bcc60395cde05232e45e9c18');
INSERT INTO "audit_log" VALUES(54,1795899002136,'usr_y5wrs48m2arztfkb','admin','admin','127.0.0.1','Python-urllib/3.11','GET /api/v1/audit/verify',NULL,200,'ok',NULL,'7625979b790ea3f3e16d857b6c897e8629515e72bcc60395cde05232e45e9c18','4fa210717195434f60bd4ab37adce814952f5dd1c0e42aac2979fd8becfe3e14');
INSERT INTO "audit_log" VALUES(55,1795899002185,'usr_y5wrs48m2arztfkb','admin','admin','127.0.0.1','berth','GET /api/v1/instances',NULL,200,'ok',NULL,'4fa210717195434f60bd4ab37adce814952f5dd1c0e42aac2979fd8becfe3e14','c4a390896aa73c06fb296f150e8a9ea14d198539ac5b40e535074a2e41201c21');
INSERT INTO "audit_log" VALUES(56,1795899002211,'usr_t1178tpka3rnx6c0','Bob','player','127.0.0.1','Python-urllib/3.11','GET /api/v1/me',NULL,200,'ok',NULL,'c4a390896aa73c06fb296f150e8a9ea14d198539ac5b40e535074a2e41201c21','ec0acecd0512a06c1bec2fc4734117187128d1c1b187672b74462825c4cef700');
INSERT INTO "audit_log" VALUES(57,1795899002218,'usr_13fters87s9z7qpa','carol','player','127.0.0.1','Python-urllib/3.11','GET /api/v1/me',NULL,200,'ok',NULL,'ec0acecd0512a06c1bec2fc4734117187128d1c1b187672b74462825c4cef700','af904860151fe790a0a1eb80ff7728c7ad6d4192077b94bc6193672f250a8d6d');
CREATE TABLE events (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, kind TEXT NOT NULL,
    instance_id TEXT, user_id TEXT, detail TEXT NOT NULL DEFAULT '');
INSERT INTO "events" VALUES(1,1.79589899484473037713e+09,'instance.requested','inst_wpj412kb4g0kde6r','usr_fqd2taqaxm5q4sq1','web-service');
INSERT INTO "events" VALUES(2,1.79589899485020303721e+09,'instance.starting','inst_wpj412kb4g0kde6r','usr_fqd2taqaxm5q4sq1','');
INSERT INTO "events" VALUES(3,1.79589899537420058248e+09,'instance.running','inst_wpj412kb4g0kde6r','usr_fqd2taqaxm5q4sq1','');
INSERT INTO "events" VALUES(4,1.79589899707416796688e+09,'instance.requested','inst_wasy79nyc9fkvmt0','usr_t1178tpka3rnx6c0','linux-basics');
INSERT INTO "events" VALUES(5,1.79589899708050727842e+09,'instance.starting','inst_wasy79nyc9fkvmt0','usr_t1178tpka3rnx6c0','');
INSERT INTO "events" VALUES(6,1.79589899735143470761e+09,'instance.running','inst_wasy79nyc9fkvmt0','usr_t1178tpka3rnx6c0','');
INSERT INTO "events" VALUES(7,1.79589899906320738789e+09,'instance.stopping','inst_wasy79nyc9fkvmt0','usr_t1178tpka3rnx6c0','stopped by its owner; press Start for a fresh one');
INSERT INTO "events" VALUES(8,1.79589899920416426653e+09,'instance.stopped','inst_wasy79nyc9fkvmt0','usr_t1178tpka3rnx6c0','stopped by its owner; press Start for a fresh one');
INSERT INTO "events" VALUES(9,1.79589899921980381014e+09,'instance.requested','inst_c4ej5q0d4s43tp1b','usr_13fters87s9z7qpa','lab-shell-steps');
INSERT INTO "events" VALUES(10,1.79589899922211503977e+09,'instance.starting','inst_c4ej5q0d4s43tp1b','usr_13fters87s9z7qpa','');
INSERT INTO "events" VALUES(11,1.79589899993468523026e+09,'instance.running','inst_c4ej5q0d4s43tp1b','usr_13fters87s9z7qpa','');
INSERT INTO "events" VALUES(12,1.79589900029567956928e+09,'instance.stopping','inst_c4ej5q0d4s43tp1b','usr_13fters87s9z7qpa','stopped by its owner; press Start for a fresh one');
INSERT INTO "events" VALUES(13,1.79589900042161273955e+09,'instance.stopped','inst_c4ej5q0d4s43tp1b','usr_13fters87s9z7qpa','stopped by its owner; press Start for a fresh one');
INSERT INTO "events" VALUES(14,1.79589900044220399859e+09,'instance.requested','inst_5kb8rgvrdyyx5b46','usr_13fters87s9z7qpa','workspace-notes');
INSERT INTO "events" VALUES(15,1.79589900044350957867e+09,'instance.starting','inst_5kb8rgvrdyyx5b46','usr_13fters87s9z7qpa','');
INSERT INTO "events" VALUES(16,1.79589900086811542516e+09,'instance.running','inst_5kb8rgvrdyyx5b46','usr_13fters87s9z7qpa','');
INSERT INTO "events" VALUES(17,1.79589900094011783605e+09,'instance.stopping','inst_5kb8rgvrdyyx5b46','usr_13fters87s9z7qpa','stopped by its owner; press Start for a fresh one');
INSERT INTO "events" VALUES(18,1.79589900110231637958e+09,'instance.stopped','inst_5kb8rgvrdyyx5b46','usr_13fters87s9z7qpa','stopped by its owner; press Start for a fresh one');
INSERT INTO "events" VALUES(19,1.79589900112950897215e+09,'instance.requested','inst_smdk8vc4a01eft7y','usr_t1178tpka3rnx6c0','lab-shell-steps');
INSERT INTO "events" VALUES(20,1.79589900113102316856e+09,'instance.starting','inst_smdk8vc4a01eft7y','usr_t1178tpka3rnx6c0','');
INSERT INTO "events" VALUES(21,1.79589900191646480555e+09,'instance.running','inst_smdk8vc4a01eft7y','usr_t1178tpka3rnx6c0','');
INSERT INTO "events" VALUES(22,1.79589900195019292828e+09,'instance.stopping','inst_smdk8vc4a01eft7y','usr_t1178tpka3rnx6c0','stopped by its owner; press Start for a fresh one');
INSERT INTO "events" VALUES(23,1.79589900209199953076e+09,'instance.stopped','inst_smdk8vc4a01eft7y','usr_t1178tpka3rnx6c0','stopped by its owner; press Start for a fresh one');
CREATE TABLE hint_unlocks (
    scorer_kind TEXT NOT NULL, scorer_id TEXT NOT NULL, environment TEXT NOT NULL, hint INTEGER NOT NULL,
    user_id TEXT NOT NULL, cost INTEGER NOT NULL, time REAL NOT NULL,
    PRIMARY KEY (scorer_kind, scorer_id, environment, hint));
INSERT INTO "hint_unlocks" VALUES('user','usr_t1178tpka3rnx6c0','linux-basics',1,'usr_t1178tpka3rnx6c0',10,1.79589899905078029633e+09);
CREATE TABLE instances (
    id TEXT PRIMARY KEY, environment TEXT NOT NULL, owner_kind TEXT NOT NULL, owner_id TEXT NOT NULL,
    requested_by TEXT NOT NULL, state TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    expires_at REAL NOT NULL, max_expires_at REAL NOT NULL, renewals_left INTEGER NOT NULL,
    container_id TEXT, network_id TEXT, endpoints TEXT NOT NULL DEFAULT '[]', reason TEXT);
INSERT INTO "instances" VALUES('inst_wpj412kb4g0kde6r','web-service','user','usr_fqd2taqaxm5q4sq1','usr_fqd2taqaxm5q4sq1','running',1.79589899484404802321e+09,1.79589899537116456026e+09,1.79590079484404802319e+09,1.79590619484404802322e+09,3,'f50f18e9a7d8ac80267bdebb48f3122e2417130d5324c05516fe6cdc377bbf9e','e537a191218796b5847a772343922e07778e7afd12cd42ef4128bbfd1ab36345','[{"url":"http:\/\/127.0.0.1:20000\/","protocol":"http","host":"127.0.0.1","hostPort":20000,"port":8080}]',NULL);
INSERT INTO "instances" VALUES('inst_wasy79nyc9fkvmt0','linux-basics','user','usr_t1178tpka3rnx6c0','usr_t1178tpka3rnx6c0','stopped',1.79589899707276487352e+09,1.79589899920310902591e+09,1.79590079707276487346e+09,1.79590619707276487348e+09,3,NULL,NULL,'[]','stopped by its owner; press Start for a fresh one');
INSERT INTO "instances" VALUES('inst_c4ej5q0d4s43tp1b','lab-shell-steps','user','usr_13fters87s9z7qpa','usr_13fters87s9z7qpa','stopped',1.79589899921917772298e+09,1.79589900042084884643e+09,1.79590169921917772299e+09,1.79590979921917772289e+09,2,NULL,NULL,'[]','stopped by its owner; press Start for a fresh one');
INSERT INTO "instances" VALUES('inst_5kb8rgvrdyyx5b46','workspace-notes','user','usr_13fters87s9z7qpa','usr_13fters87s9z7qpa','stopped',1.79589900043742012976e+09,1.79589900109786438937e+09,1.79590080043742012982e+09,1.79590620043742012984e+09,2,NULL,NULL,'[]','stopped by its owner; press Start for a fresh one');
INSERT INTO "instances" VALUES('inst_smdk8vc4a01eft7y','lab-shell-steps','team','team_1bme5yd8np9ws786','usr_t1178tpka3rnx6c0','stopped',1.79589900112896704671e+09,1.79589900209114718436e+09,1.79590170112896704672e+09,1.79590980112896704675e+09,2,NULL,NULL,'[]','stopped by its owner; press Start for a fresh one');
CREATE TABLE lab_checks (
    id TEXT PRIMARY KEY, owner_kind TEXT NOT NULL, owner_id TEXT NOT NULL, environment TEXT NOT NULL,
    user_id TEXT NOT NULL, instance_id TEXT NOT NULL, step TEXT NOT NULL, status TEXT NOT NULL,
    failures TEXT NOT NULL, metrics TEXT NOT NULL, notes TEXT NOT NULL, exit_code INTEGER,
    duration_ms INTEGER NOT NULL, operator_detail TEXT, time REAL NOT NULL);
INSERT INTO "lab_checks" VALUES('chk_d7ydzns5mwd7m6mh','user','usr_13fters87s9z7qpa','lab-shell-steps','usr_13fters87s9z7qpa','inst_c4ej5q0d4s43tp1b','make-folder','failed','[{"message":"there is no folder \/home\/player\/project yet"}]','{"folders":0}','[]',1,110,'stdout: FAIL: there is no folder /home/player/project yet',1.79589900007089066508e+09);
INSERT INTO "lab_checks" VALUES('chk_4vncn8jab281at8h','user','usr_13fters87s9z7qpa','lab-shell-steps','usr_13fters87s9z7qpa','inst_c4ej5q0d4s43tp1b','make-folder','passed','[]','{"folders":1,"owner_uid":1000}','[]',0,117,NULL,1.79589900028007555012e+09);
CREATE TABLE lab_hints (
    id TEXT PRIMARY KEY, owner_kind TEXT NOT NULL, owner_id TEXT NOT NULL, environment TEXT NOT NULL,
    user_id TEXT NOT NULL, instance_id TEXT NOT NULL, step TEXT NOT NULL, source TEXT NOT NULL,
    authored_index INTEGER, time REAL NOT NULL);
INSERT INTO "lab_hints" VALUES('lhint_9qk3eqz4r40bresj','user','usr_13fters87s9z7qpa','lab-shell-steps','usr_13fters87s9z7qpa','inst_c4ej5q0d4s43tp1b','save-listing','authored',0,1.79589900028982806206e+09);
CREATE TABLE lab_progress (
    owner_kind TEXT NOT NULL, owner_id TEXT NOT NULL, environment TEXT NOT NULL, current_step TEXT,
    steps TEXT NOT NULL, started_at REAL NOT NULL, updated_at REAL NOT NULL, completed_at REAL,
    PRIMARY KEY (owner_kind, owner_id, environment));
INSERT INTO "lab_progress" VALUES('user','usr_13fters87s9z7qpa','lab-shell-steps','save-listing','[{"id":"make-folder","passedAt":1795899000.2800756,"startedAt":1795898999.951002},{"id":"save-listing","startedAt":1795899000.2800756}]',1.79589899995100188249e+09,1.79589900028007555012e+09,NULL);
INSERT INTO "lab_progress" VALUES('team','team_1bme5yd8np9ws786','lab-shell-steps','make-folder','[{"id":"make-folder","startedAt":1795899001.9290233}]',1.79589900192902326581e+09,1.79589900192902326581e+09,NULL);
CREATE TABLE memberships (
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, user_id));
INSERT INTO "memberships" VALUES('team_1bme5yd8np9ws786','usr_t1178tpka3rnx6c0');
INSERT INTO "memberships" VALUES('team_1bme5yd8np9ws786','usr_13fters87s9z7qpa');
CREATE TABLE recordings (
    id TEXT PRIMARY KEY, instance_id TEXT NOT NULL, environment TEXT NOT NULL, owner_kind TEXT NOT NULL,
    owner_id TEXT NOT NULL, terminal TEXT NOT NULL, path TEXT NOT NULL UNIQUE, started_at REAL NOT NULL,
    ended_at REAL);
INSERT INTO "recordings" VALUES('rec_tn4reerthqfwp6f4','inst_wpj412kb4g0kde6r','web-service','user','usr_fqd2taqaxm5q4sq1','main','recordings/inst_wpj412kb4g0kde6r/main-rec_tn4reerthqfwp6f4.cast',1.79589899540510511402e+09,NULL);
INSERT INTO "recordings" VALUES('rec_dgrkb411kth4xksq','inst_wasy79nyc9fkvmt0','linux-basics','user','usr_t1178tpka3rnx6c0','main','recordings/inst_wasy79nyc9fkvmt0/main-rec_dgrkb411kth4xksq.cast',1.79589899736549377445e+09,1.79589899908610296256e+09);
CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL);
INSERT INTO "schema_migrations" VALUES('0001_initial',1.79589899274313020711e+09);
INSERT INTO "schema_migrations" VALUES('0002_recordings',1.79589899275139856338e+09);
INSERT INTO "schema_migrations" VALUES('0003_audit',1.7958989927589228153e+09);
INSERT INTO "schema_migrations" VALUES('0004_play',1.79589899276215028767e+09);
INSERT INTO "schema_migrations" VALUES('0005_labs',1.79589899276381731027e+09);
INSERT INTO "schema_migrations" VALUES('0006_workspaces',1.79589899276469302179e+09);
CREATE TABLE sessions (
    secret_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at REAL NOT NULL, expires_at REAL NOT NULL, client_ip TEXT, user_agent TEXT);
INSERT INTO "sessions" VALUES('69aa420c07f8765a134289552a4f828f15be98ea985f3b6d149460bd504f08db','usr_t1178tpka3rnx6c0',1.79589899382457494738e+09,1.79650379382457494733e+09,'127.0.0.1','Python-urllib/3.11');
INSERT INTO "sessions" VALUES('7b080d03f55010992b71ac90d8359e78f4d3cbd1a27ffef8a5265c4ee68e0c17','usr_13fters87s9z7qpa',1.79589899416242885585e+09,1.79650379416242885594e+09,'127.0.0.1','Python-urllib/3.11');
INSERT INTO "sessions" VALUES('7b9693bdbe817fafe808a5e51b0edf92846fecd45bdd21189aa21d41a86fd791','usr_t1178tpka3rnx6c0',1.7958989948006577492e+09,1.79650379480065774916e+09,'127.0.0.1','Python-urllib/3.11');
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at REAL NOT NULL);
INSERT INTO "settings" VALUES('registration','open',1.79589899330967640877e+09);
INSERT INTO "settings" VALUES('defaultTTL','2700',1.79589899331036591525e+09);
INSERT INTO "settings" VALUES('assignment','user',1.79589900211528325077e+09);
CREATE TABLE solves (
    scorer_kind TEXT NOT NULL, scorer_id TEXT NOT NULL, environment TEXT NOT NULL, user_id TEXT NOT NULL,
    time REAL NOT NULL, PRIMARY KEY (scorer_kind, scorer_id, environment));
INSERT INTO "solves" VALUES('user','usr_t1178tpka3rnx6c0','linux-basics','usr_t1178tpka3rnx6c0',1795898999.05694);
CREATE TABLE submissions (
    id TEXT PRIMARY KEY, time REAL NOT NULL, user_id TEXT NOT NULL, scorer_kind TEXT NOT NULL, scorer_id TEXT NOT NULL,
    environment TEXT NOT NULL, submitted TEXT NOT NULL, outcome TEXT NOT NULL, shared_from_instance TEXT,
    shared_from_owner TEXT, client_ip TEXT);
INSERT INTO "submissions" VALUES('sub_52jy7gzrh70amkzj',1.79589899903900241848e+09,'usr_t1178tpka3rnx6c0','user','usr_t1178tpka3rnx6c0','linux-basics','berth{not_it}','incorrect',NULL,NULL,'127.0.0.1');
INSERT INTO "submissions" VALUES('sub_8kbbvct557gq47j9',1795898999.05694,'usr_t1178tpka3rnx6c0','user','usr_t1178tpka3rnx6c0','linux-basics','berth{dotfiles_hide_in_plain_sight}','correct',NULL,NULL,'127.0.0.1');
INSERT INTO "submissions" VALUES('sub_17jx0xcmn95htvf7',1.79589900193689107898e+09,'usr_13fters87s9z7qpa','team','team_1bme5yd8np9ws786','web-service','berth{guess}','incorrect',NULL,NULL,'127.0.0.1');
CREATE TABLE teams (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at REAL NOT NULL, invite_code TEXT);
INSERT INTO "teams" VALUES('team_1bme5yd8np9ws786','Blue team',1.79589899482231926913e+09,'HXDXnuJtxSh2_wYi');
CREATE TABLE users (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL, created_at REAL NOT NULL, password_hash TEXT, github_id TEXT);
INSERT INTO "users" VALUES('usr_y5wrs48m2arztfkb','admin','admin',1.79589899276538038255e+09,NULL,NULL);
INSERT INTO "users" VALUES('usr_fqd2taqaxm5q4sq1','alice','player',1.79589899338472366334e+09,NULL,NULL);
INSERT INTO "users" VALUES('usr_t1178tpka3rnx6c0','Bob','player',1.79589899382317686078e+09,'$2b$12$uG1DJqR8OqadPbQaE/9Crua31P1SIUubDl6jNFdkVfJMPuvFgEuD.',NULL);
INSERT INTO "users" VALUES('usr_13fters87s9z7qpa','carol','player',1.79589899415033388135e+09,'$2b$12$vcV3eG2CcAfF1LnJAouGCePKcOfARlEY5T4jhUO4SAodkQaRRDRMq',NULL);
CREATE TABLE workspaces (
    id TEXT PRIMARY KEY, owner_kind TEXT NOT NULL, owner_id TEXT NOT NULL, environment TEXT NOT NULL,
    size_bytes INTEGER NOT NULL, created_at REAL NOT NULL, last_used_at REAL NOT NULL,
    sync_state TEXT NOT NULL DEFAULT 'local_only', synced_at REAL, remote_version INTEGER NOT NULL DEFAULT 0,
    sync_attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL, last_error TEXT,
    UNIQUE (owner_kind, owner_id, environment));
INSERT INTO "workspaces" VALUES('ws_kz8rb30dges3wpz7','user','usr_13fters87s9z7qpa','workspace-notes',67108864,1.79589900044769358632e+09,1.79589900109708690647e+09,'local_only',NULL,0,0,NULL,NULL);
CREATE INDEX instances_owner ON instances(owner_kind, owner_id, state);
CREATE INDEX instances_state ON instances(state);
CREATE INDEX events_instance ON events(instance_id, sequence);
CREATE INDEX recordings_instance ON recordings(instance_id, started_at);
CREATE INDEX recordings_owner ON recordings(owner_kind, owner_id, started_at);
CREATE INDEX recordings_environment ON recordings(environment, started_at);
CREATE INDEX audit_actor ON audit_log(actor_id, sequence);
CREATE INDEX audit_target ON audit_log(target, sequence);
CREATE INDEX audit_time ON audit_log(time_ms);
CREATE UNIQUE INDEX users_name_nocase ON users(name COLLATE NOCASE);
CREATE UNIQUE INDEX teams_name_nocase ON teams(name COLLATE NOCASE);
CREATE UNIQUE INDEX users_github ON users(github_id) WHERE github_id IS NOT NULL;
CREATE UNIQUE INDEX teams_invite ON teams(invite_code) WHERE invite_code IS NOT NULL;
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX submissions_environment ON submissions(environment, time);
CREATE INDEX submissions_scorer ON submissions(scorer_kind, scorer_id, time);
CREATE INDEX submissions_user ON submissions(user_id, time);
CREATE INDEX solves_environment ON solves(environment, time);
CREATE INDEX lab_progress_environment ON lab_progress(environment);
CREATE INDEX lab_checks_owner ON lab_checks(owner_kind, owner_id, environment, time);
CREATE INDEX lab_checks_environment ON lab_checks(environment, time);
CREATE INDEX lab_hints_owner ON lab_hints(owner_kind, owner_id, environment, time);
CREATE INDEX workspaces_last_used ON workspaces(last_used_at);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('events',23);
COMMIT;

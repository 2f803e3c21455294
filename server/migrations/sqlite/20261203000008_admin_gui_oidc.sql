-- The admin UI's own OP client (an oxd site), one per OP and redirect URI, registered at the first OIDC sign-in.
CREATE TABLE admin_gui_oidc (
    op_host      TEXT   NOT NULL,
    redirect_uri TEXT   NOT NULL,
    oxd_id       TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (op_host, redirect_uri)
);

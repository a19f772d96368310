-- Corpus schema, version 1: debates, contributions, participants, votes, model outputs, units and citations.
CREATE TABLE debates (
    debate_id      VARCHAR PRIMARY KEY,
    title          VARCHAR NOT NULL,
    question       VARCHAR,
    source_url     VARCHAR,
    platform       VARCHAR NOT NULL,
    country        VARCHAR,
    language       VARCHAR,
    licence        VARCHAR,
    attribution    VARCHAR,
    source_path    VARCHAR,
    ingested_at    TIMESTAMP NOT NULL,
    extra          JSON
);

CREATE TABLE contributions (
    debate_id       VARCHAR NOT NULL,
    contribution_id VARCHAR NOT NULL,
    author_pid      VARCHAR,
    text            VARCHAR NOT NULL,
    language        VARCHAR,
    country         VARCHAR,
    created_at      TIMESTAMP,
    n_agree         INTEGER,
    n_disagree      INTEGER,
    n_pass          INTEGER,
    moderation      SMALLINT NOT NULL DEFAULT 1,
    is_rejected     BOOLEAN NOT NULL DEFAULT FALSE,
    metadata        JSON,
    PRIMARY KEY (debate_id, contribution_id)
);

CREATE TABLE participants (
    debate_id        VARCHAR NOT NULL,
    participant_pid  VARCHAR NOT NULL,
    published_group  INTEGER,
    PRIMARY KEY (debate_id, participant_pid)
);

CREATE TABLE votes (
    debate_id        VARCHAR NOT NULL,
    contribution_id  VARCHAR NOT NULL,
    participant_pid  VARCHAR NOT NULL,
    vote             TINYINT NOT NULL,
    voted_at         TIMESTAMP
);

CREATE TABLE outputs (
    output_id        VARCHAR PRIMARY KEY,
    debate_id        VARCHAR NOT NULL,
    task             VARCHAR NOT NULL,
    model            VARCHAR NOT NULL,
    prompt_id        VARCHAR,
    prompt           VARCHAR,
    params           JSON,
    target_language  VARCHAR,
    source_ids       VARCHAR[],
    text             VARCHAR NOT NULL,
    origin           VARCHAR,
    created_at       TIMESTAMP NOT NULL
);

CREATE TABLE output_units (
    output_id   VARCHAR NOT NULL,
    unit_index  INTEGER NOT NULL,
    text        VARCHAR NOT NULL,
    kind        VARCHAR,
    section     VARCHAR,
    PRIMARY KEY (output_id, unit_index)
);

CREATE TABLE citations (
    output_id        VARCHAR NOT NULL,
    unit_index       INTEGER NOT NULL,
    contribution_id  VARCHAR NOT NULL
);
